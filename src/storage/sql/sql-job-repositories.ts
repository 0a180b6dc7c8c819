import type { Kysely } from 'kysely';
import type { JobRepositories } from '../job-ports.js';
import { SqlDataAssetRepository } from './data-asset.repository.js';
import { SqlJobQueue } from './job-queue.repository.js';
import { SqlJobRepository } from './job.repository.js';
import { SqlScheduleRepository } from './schedule.repository.js';
import type { Database } from './schema.js';

/** Every batch-scoring repository, and the embedded queue, over one database handle. */
export function createSqlJobRepositories(db: Kysely<Database>): JobRepositories {
  return {
    assets: new SqlDataAssetRepository(db),
    jobs: new SqlJobRepository(db),
    queue: new SqlJobQueue(db),
    schedules: new SqlScheduleRepository(db),
  };
}
