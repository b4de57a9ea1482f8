import base from './vitest.config.ts';
export default { ...base, test: { ...base.test, setupFiles: [...base.test.setupFiles, '/tmp/rep/cpu-setup.ts'] } };
