// Requests that reach a server at the same instant, as a busy server receives them.
import net from 'node:net';

/** Reads one whole answer (head and a Content-Length body) from a keep-alive connection. */
function oneAnswer(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: string) => {
      text += chunk;
      const [head, body] = text.split('\r\n\r\n', 2);
      const length = Number(/content-length: (\d+)/i.exec(head ?? '')?.[1] ?? NaN);
      if (body !== undefined && Buffer.byteLength(body) >= length) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
}

/**
 * Sends raw HTTP/1.1 requests (each ending its connection: `Connection: close`) at the same
 * instant: every connection is opened and used once first (keep-alive), then all requests are
 * written in one go, to one server or several (127.0.0.1, one port per request). Answers in
 * order (status and JSON body).
 */
export async function atOnce(requests: { port: number; request: string }[]): Promise<{ status: number; body: Record<string, unknown> }[]> {
  const sockets = await Promise.all(
    requests.map(
      ({ port }) =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          socket.setEncoding('utf8');
          socket.once('error', reject);
        }),
    ),
  );
  await Promise.all(
    sockets.map((socket) => {
      const answered = oneAnswer(socket);
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      return answered;
    }),
  );
  const answers = sockets.map(
    (socket) =>
      new Promise<string>((resolve, reject) => {
        let text = '';
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(text));
      }),
  );
  sockets.forEach((socket, i) => socket.write(requests[i]!.request));
  return (await Promise.all(answers)).map((text) => {
    const [head = '', body = ''] = text.split('\r\n\r\n', 2);
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(body) as Record<string, unknown> };
  });
}

/** A raw form POST of a service authenticated by its secret (client_secret_basic), ending its connection. */
export function rawServicePost(path: string, service: { clientId: string; clientSecret: string | null }, form: string): string {
  return [
    `POST ${path} HTTP/1.1`,
    'Host: localhost',
    `Authorization: Basic ${Buffer.from(`${service.clientId}:${service.clientSecret}`).toString('base64')}`,
    'Content-Type: application/x-www-form-urlencoded',
    `Content-Length: ${Buffer.byteLength(form)}`,
    'Connection: close',
    '',
    form,
  ].join('\r\n');
}
