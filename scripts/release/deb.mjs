export async function buildDeb() { throw new Error('todo'); }
