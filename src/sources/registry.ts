/** Every source plugin, listed explicitly. A test checks this list against src/sources/<type>/ folders. */
import type { SourcePlugin } from './types.js';
import { folderSource } from './folder/index.js';

export const sourcePlugins: readonly SourcePlugin[] = [
  folderSource,
];
