'use strict';
// Lets `serverless package --offline` (or STEPVAULT_OFFLINE_PACKAGE=1) run with no AWS account:
// osls compares each layer with the one in the deployed stack, which asks CloudFormation and so
// needs credentials. Packaging for review or CI has no stack to compare with; deploy keeps it.
class OfflinePackage {
  constructor(serverless, options) {
    const offline = Boolean(options.offline) || process.env.STEPVAULT_OFFLINE_PACKAGE === '1';
    this.commands = {
      package: { options: { offline: { usage: 'Package without asking AWS anything', type: 'boolean' } } },
    };
    if (!offline) return;
    for (const plugin of serverless.pluginManager.plugins) {
      if (typeof plugin.compareWithLastLayer === 'function') plugin.compareWithLastLayer = async () => undefined;
    }
  }
}
module.exports = OfflinePackage;
