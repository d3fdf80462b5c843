/**
 * What the task image is: where things sit in it, who runs it, and the architectures it is built
 * for (named as Lambda and the dbtools layer name them, mapped to OCI's and npm's names).
 */
export const IMAGE_ARCHES = {
  x86_64: { oci: 'amd64', npm: 'x64', layer: 'x86_64' },
  arm64: { oci: 'arm64', npm: 'arm64', layer: 'arm64' },
} as const;

export type ImageArch = keyof typeof IMAGE_ARCHES;

/** The bundled task entrypoint and the config beside it; the working folder of the container. */
export const APP_DIR = '/app';
export const ENTRYPOINT_FILE = `${APP_DIR}/task.mjs`;
export const IMAGE_CONFIG_FILE = `${APP_DIR}/stepvault.config.yml`;
export const NODE_PATH = '/usr/local/bin/node';

/** The container does not run as root: a user of its own, with a home for tools that want one. */
export const IMAGE_USER = { name: 'stepvault', uid: 10001, gid: 10001, home: '/home/stepvault' } as const;

/** The Debian packages of the base layer: what Node needs of the C and C++ runtimes, and the CA bundle. */
export const BASE_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1', 'ca-certificates'] as const;

/** Where the CA bundle goes (Debian's place, which OpenSSL's default paths in the layer look at). */
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
