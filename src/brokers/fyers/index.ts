export { FyersAdapter, type FyersAdapterOptions } from './adapter.js';
