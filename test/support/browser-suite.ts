// A test file's real GLC server and Debian's Chromium, started together before its tests and
// closed after them.
import { afterAll, beforeAll } from 'vitest';
import type { Browser as PwBrowser } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startTestGlc, type TestGlc } from './glc.js';

export function glcWithChromium(env: Record<string, string> = {}): { glc: TestGlc; chromium: PwBrowser } {
  const suite = {} as { glc: TestGlc; chromium: PwBrowser };
  beforeAll(async () => {
    [suite.glc, suite.chromium] = await Promise.all([startTestGlc(env), launchChromium()]);
  });
  afterAll(async () => {
    await suite.chromium?.close();
    await suite.glc?.close();
  });
  return suite;
}
