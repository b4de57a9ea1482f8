import type { BrokerAdapter } from './broker.js';

/** The brokers this process can talk to, by name. Vendor details stay inside each adapter's folder. */
export class BrokerRegistry {
  private readonly adapters = new Map<string, BrokerAdapter>();

  register(adapter: BrokerAdapter): this {
    this.adapters.set(adapter.name, adapter);
    return this;
  }

  has(name: string): boolean {
    return this.adapters.has(name);
  }

  get(name: string): BrokerAdapter {
    const a = this.adapters.get(name);
    if (!a) throw new Error(`no broker adapter named ${name}`);
    return a;
  }

  all(): BrokerAdapter[] {
    return [...this.adapters.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((a) => a.close()));
  }
}
