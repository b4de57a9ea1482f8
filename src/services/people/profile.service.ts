import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { investmentProfiles } from '../../db/schema/index.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { dec } from '../../lib/decimal.js';
import { allows, type AccessPolicy } from './access.policy.js';
import type { AuditPort } from './audit.service.js';

export type ProfileRow = typeof investmentProfiles.$inferSelect;
export const RISK_LEVELS = ['CONSERVATIVE', 'MODERATE', 'BALANCED', 'GROWTH', 'AGGRESSIVE'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface ProfileInput {
  riskLevel: RiskLevel;
  horizonYears?: number | null;
  objectives?: string | null;
  maxPositionWeight?: string | null;
  excludedSymbols?: string[] | null;
}

/** Checked and normalised profile fields (pure). */
export function validateProfile(input: ProfileInput) {
  if (!RISK_LEVELS.includes(input.riskLevel)) throw new BadInputError('Unknown risk level', 'riskLevel', 'UNKNOWN_RISK_LEVEL');
  const h = input.horizonYears;
  if (h != null && (!Number.isInteger(h) || h < 0 || h > 100)) throw new BadInputError('horizonYears must be 0–100', 'horizonYears', 'OUT_OF_RANGE');
  const objectives = input.objectives?.trim() || null;
  if (objectives && objectives.length > 2000) throw new BadInputError('objectives must be at most 2000 characters', 'objectives', 'TOO_LONG');
  let maxPositionWeight: string | null = null;
  if (input.maxPositionWeight != null) {
    const w = dec(input.maxPositionWeight);
    if (w.lte(0) || w.gt(1)) throw new BadInputError('maxPositionWeight must be > 0 and <= 1 (a fraction)', 'maxPositionWeight', 'OUT_OF_RANGE');
    maxPositionWeight = w.toFixed();
  }
  const symbols = [...new Set((input.excludedSymbols ?? []).map((s) => s.trim().toUpperCase()).filter(Boolean))];
  if (symbols.length > 200 || symbols.some((s) => s.length > 40)) throw new BadInputError('At most 200 excluded symbols', 'excludedSymbols', 'TOO_MANY');
  return { riskLevel: input.riskLevel, horizonYears: h ?? null, objectives, maxPositionWeight, excludedSymbols: symbols };
}

/** Investment profiles: one per portfolio, set by its owner or the owner's advisor, read by whoever reads the portfolio. */
export class ProfileService {
  constructor(private readonly deps: { db: Db; clock: Clock; policy: AccessPolicy; audit: AuditPort }) {}

  async set(viewer: Principal, portfolioId: string, input: ProfileInput): Promise<void> {
    const owner = await this.deps.policy.portfolioOwner(portfolioId);
    if (!owner || !allows(viewer, owner, 'read')) throw new NotFoundError('Portfolio', portfolioId);
    if (!allows(viewer, owner, 'profile')) throw new ForbiddenError("Only the portfolio's owner or their advisor sets its profile");
    const v = validateProfile(input);
    const row = { ...v, updatedBy: viewer.userId, updatedAt: this.deps.clock.now() };
    await this.deps.db
      .insert(investmentProfiles)
      .values({ portfolioId, ...row })
      .onConflictDoUpdate({ target: investmentProfiles.portfolioId, set: row });
    await this.deps.audit.record({ actorId: viewer.userId, action: 'profile.set', subjectId: portfolioId, data: { riskLevel: v.riskLevel } });
  }

  /** Profiles by portfolio id (callers have already checked the portfolio may be read). */
  async byPortfolioIds(ids: readonly string[]): Promise<Map<string, ProfileRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.deps.db.select().from(investmentProfiles).where(inArray(investmentProfiles.portfolioId, [...ids]));
    return new Map(rows.map((r) => [r.portfolioId, r]));
  }

  async get(portfolioId: string): Promise<ProfileRow | null> {
    const [r] = await this.deps.db.select().from(investmentProfiles).where(eq(investmentProfiles.portfolioId, portfolioId));
    return r ?? null;
  }
}
