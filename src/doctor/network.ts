/**
 * Can this machine reach the database: its host name resolves (DNS) and its port accepts a TCP
 * connection within a short time. From where doctor runs, which is not necessarily where the
 * backup runs (a Lambda in a VPC sees other names and routes).
 */
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import type { Check } from './types.ts';
import { fail, ok } from './types.ts';

export const dnsCheck: Check = {
  id: 'dns',
  name: 'dns',
  needs: ['connection'],
  async run({ facts }) {
    const { host } = facts.connection!.target;
    if (isIP(host)) return [ok('dns', `${host} is an address; nothing to resolve`)];
    try {
      const addresses = await lookup(host, { all: true });
      return [ok('dns', `${host} resolves to ${addresses.map((a) => a.address).join(', ')}`)];
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      return [
        fail(
          'dns',
          `${host} does not resolve (${code})`,
          `check the host name in targets.${facts.connection!.target.name}; a private name resolves only inside its network (VPC, VPN)`,
        ),
      ];
    }
  },
};

export const tcpCheck: Check = {
  id: 'tcp',
  name: 'tcp',
  needs: ['dns'],
  async run({ facts, timeoutMs }) {
    const { host, port, name } = facts.connection!.target;
    const started = Date.now();
    try {
      await connectTcp(host, port, timeoutMs);
      return [ok('tcp', `${host}:${port} accepts connections (${Date.now() - started} ms)`)];
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      return [
        fail(
          'tcp',
          `${host}:${port} ${code === 'ETIMEDOUT' ? `did not answer within ${timeoutMs / 1000} s` : `refused the connection (${code})`}`,
          `check targets.${name}.port, that the server is running and listening on ${host}, and that a firewall or security group lets this machine in`,
        ),
      ];
    }
  },
};

/** Opens a TCP connection and closes it again; rejects with ETIMEDOUT when the time runs out. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
    socket.connect(port, host, () => {
      socket.end();
      socket.destroy();
      resolve();
    });
  });
}
