import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

/**
 * type-graphql gives every plain `@Field` (no field resolver) a resolver of its own that builds a
 * middleware context object and reads `root[name]`, even with no middleware to run. graphql-js's default
 * resolver reads the same property; on a dashboard read of ≈ 400 fields the wrapper was a few percent of
 * the api's CPU (and garbage). So, after the build, a plain field loses its wrapper when nothing can hang
 * on it: no middlewares, no roles, no arguments, its property named as its field, and no
 * `@FieldResolver` of that name anywhere (a conservative test: a field resolver of the same name on any
 * type keeps the wrapper). Root types are left alone. The printed schema is unchanged.
 */
export function dropPassThroughResolvers(schema: GraphQLSchema): GraphQLSchema {
  const storage = getMetadataStorage();
  const resolvedNames = new Set<string>();
  for (const r of storage.fieldResolvers) {
    resolvedNames.add(r.methodName);
    if (r.schemaName) resolvedNames.add(r.schemaName);
  }
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || roots.has(type) || type.name.startsWith('__')) continue;
    const meta = storage.objectTypes.find((o) => o.name === type.name);
    if (!meta?.fields) continue;
    const fields = type.getFields();
    for (const fm of meta.fields) {
      const field = fields[fm.schemaName];
      if (!field?.resolve || field.args.length > 0) continue;
      if (fm.name !== fm.schemaName || fm.middlewares?.length || fm.roles || fm.params?.length || resolvedNames.has(fm.name)) continue;
      field.resolve = undefined;
    }
  }
  return schema;
}
