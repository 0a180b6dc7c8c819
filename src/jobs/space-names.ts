import type { SpaceRepository } from '../storage/ports.js';

/** Space ids to names for views, remembered (a space's name never changes). */
export class SpaceNames {
  private readonly names = new Map<string, string>();
  constructor(private readonly spaces: SpaceRepository) {}

  async of(spaceId: string): Promise<string> {
    let name = this.names.get(spaceId);
    if (name === undefined) {
      name = (await this.spaces.get(spaceId))?.name ?? spaceId;
      this.names.set(spaceId, name);
    }
    return name;
  }
}
