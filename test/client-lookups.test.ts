// The provider looks a service up on every protocol request. oidc-provider finds the client it
// built by hashing the metadata's JSON each time; GLC keeps the built client beside the clients
// store's cached metadata (oidc/provider.ts, reuseBuiltClients). A change to the registration,
// made on this instance or another, gives the new client at once; a disabled one is found no more.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerClient, startTestGlc, type TestGlc } from './support/glc.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
});
afterAll(async () => {
  await glc?.close();
});

describe('service lookups by the provider', () => {
  it('build a client once per registration version, and follow every change', async () => {
    const client = await registerClient(glc);
    const provider = glc.services.provider;
    const metadataReads = vi.spyOn(glc.services.clientStore, 'findProviderMetadata');
    const first = await provider.Client.find(client.clientId);
    for (let i = 0; i < 10; i++) expect(await provider.Client.find(client.clientId)).toBe(first);
    // Built from the store's metadata once it is cached; not read again for every lookup.
    expect(metadataReads.mock.calls.length).toBeLessThanOrEqual(2);

    await glc.services.clients.update(client.clientId, { name: 'Service renommé', redirectUris: ['https://renomme.example/cb'] });
    await expect.poll(async () => (await provider.Client.find(client.clientId))?.clientName, { timeout: 5_000 }).toBe('Service renommé');
    expect((await provider.Client.find(client.clientId))?.redirectUris).toEqual(['https://renomme.example/cb']);

    await glc.services.clients.setEnabled(client.clientId, false);
    await expect.poll(() => provider.Client.find(client.clientId), { timeout: 5_000 }).toBeUndefined();
    await glc.services.clients.setEnabled(client.clientId, true);
    await expect.poll(async () => (await provider.Client.find(client.clientId))?.clientId, { timeout: 5_000 }).toBe(client.clientId);

    // An unknown or malformed id is no client, and is not kept.
    expect(await provider.Client.find('inconnu')).toBeUndefined();
    expect(await provider.Client.find(undefined as unknown as string)).toBeUndefined();
    metadataReads.mockRestore();
  });
});
