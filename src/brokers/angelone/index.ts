export { AngelOneAdapter, ANGEL_BUDGETS, type AngelOneAdapterOptions } from './adapter.js';
