/** Every destination plugin, listed explicitly. A test checks this list against src/destinations/<type>/ folders. */
import type { DestinationPlugin } from './types.js';
import { localDestination } from './local/index.js';

export const destinationPlugins: readonly DestinationPlugin[] = [
  localDestination,
];
