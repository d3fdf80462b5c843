// The types of cli-bundle.js, which stays JavaScript so that bin/stepvault.js checks the bundle without TypeScript.
export declare const CLI_BUNDLE_DIR: string;
export declare const CLI_BUNDLE_STAMP: string;
export declare function freshCliBundle(root: string): string | undefined;
