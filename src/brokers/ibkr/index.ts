export { IbkrAdapter, coidOf, type IbkrAdapterOptions } from './adapter.js';
