import { PlinthError, printable } from '../core/errors.js';

/**
 * Domain errors the repositories raise instead of driver messages, so a caller sees
 * "model 'churn' already exists in this space" and never "UNIQUE constraint failed: models.name".
 * Each is a PlinthError (CONFLICT, 409) and also a class of its own, so a service can tell them
 * apart: an If-Match failure (RevisionMismatchError) is 412 over HTTP, not 409.
 */

export type Entity = 'space' | 'model' | 'version' | 'alias' | 'deployment' | 'member';

export class DuplicateNameError extends PlinthError {
  constructor(readonly entity: Entity, readonly entityName: string, where = '') {
    super('CONFLICT', `${entity} '${printable(entityName)}' already exists${where}`);
    this.name = 'DuplicateNameError';
  }
}

export class RevisionMismatchError extends PlinthError {
  constructor(readonly entity: Entity, readonly expected: number, readonly actual: number) {
    super('CONFLICT', `${entity} has revision ${actual}, not ${expected}: it changed since it was read`);
    this.name = 'RevisionMismatchError';
  }
}

export class InUseError extends PlinthError {
  constructor(message: string) {
    super('CONFLICT', message);
    this.name = 'InUseError';
  }
}

export const notFound = (entity: Entity, id: string) => new PlinthError('NOT_FOUND', `${entity} '${printable(id)}' does not exist`);
