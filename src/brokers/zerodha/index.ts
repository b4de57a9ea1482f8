export { KiteAdapter, type KiteAdapterOptions } from './adapter.js';
