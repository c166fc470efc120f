import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { listensOn } from '../../tools/stack.cjs';

/**
 * How the stack tells gateway replicas on one shared port apart (SO_REUSEPORT): by the
 * process's own listening socket, whichever process answers a request on the port.
 */
describe('listensOn (tools/stack.cjs)', () => {
  let child: ChildProcess;
  let port: number;

  beforeAll(async () => {
    child = spawn(process.execPath, [
      '-e',
      "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port)); setInterval(() => {}, 1000);",
    ]);
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
    port = Number(chunk.toString().trim());
  });
  afterAll(() => child.kill());

  it('sees the port a process listens on, and only that process on it', () => {
    expect(listensOn(child.pid!, port)).toBe(true);
    expect(listensOn(process.pid, port)).toBe(false);
    expect(listensOn(child.pid!, port === 65535 ? 65534 : port + 1)).toBe(false);
  });
});
