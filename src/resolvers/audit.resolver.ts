import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { AuditConnection, AuditEntry, AuditVerification } from '../schema/people.type.js';
import { User } from '../schema/user.type.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import type { AuditRow } from '../services/people/audit.service.js';

@Resolver(() => AuditEntry)
export class AuditResolver {
  @Query(() => AuditConnection, { description: 'Admin: the audit log, newest first.' })
  async auditLog(
    @Arg('userId', () => ID, { nullable: true, description: 'Only entries by this actor.' }) userId: string | null,
    @Arg('action', () => String, { nullable: true, description: 'Only this action.' }) action: string | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last edge seen.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const page = await ctx.services.audit.list(requireUser(ctx), { userId, action, first: pageSize(first, ctx, 50), after });
    const edges = page.rows.map((r) => ({ cursor: String(r.id), node: r }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }

  @Query(() => AuditVerification, { description: 'Admin: recompute the hash chain and report the first broken entry.' })
  verifyAuditLog(@Ctx() ctx: GqlContext) {
    return ctx.services.audit.verify(requireUser(ctx));
  }

  @FieldResolver(() => ID, { description: 'Position in the chain.' })
  id(@Root() r: AuditRow) {
    return String(r.id);
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who did it (null for the system or an unknown login).' })
  actor(@Root() r: AuditRow, @Ctx() ctx: GqlContext) {
    return r.actorId ? ctx.loaders.user.load(r.actorId) : null;
  }
}
