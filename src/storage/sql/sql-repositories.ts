import type { Kysely } from 'kysely';
import type { RegistryRepositories } from '../ports.js';
import { SqlAliasRepository } from './alias.repository.js';
import { SqlDeploymentRepository } from './deployment.repository.js';
import { SqlModelRepository } from './model.repository.js';
import { SqlSpaceRepository } from './space.repository.js';
import type { Database } from './schema.js';

/** Every registry repository over one database handle (what app.ts hands to the services). */
export function createSqlRepositories(db: Kysely<Database>): RegistryRepositories {
  return {
    spaces: new SqlSpaceRepository(db),
    models: new SqlModelRepository(db),
    aliases: new SqlAliasRepository(db),
    deployments: new SqlDeploymentRepository(db),
  };
}
