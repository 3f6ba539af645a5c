import { describe, expect, it } from 'vitest';
import { routeOf } from './metrics.js';

describe('routeOf', () => {
  it('folds IDs and keeps the routes of this server', () => {
    expect(routeOf('/api/v1/messages/123/flag')).toBe('/api/v1/messages/:id/flag');
    expect(routeOf('/api/v1/messages/9/attachments/0')).toBe('/api/v1/messages/:id/attachments/:id');
    expect(routeOf('/api/v1/folders/inbox?x=1')).toBe('/api/v1/folders/inbox');
    expect(routeOf('/')).toBe('/');
    expect(routeOf('/icons/icon-192.png')).toBe('/icons/*');
  });

  it('gives every made-up path one label', () => {
    for (const path of ['/api/v1/folders/secret-archive', '/api/v1/x7f3a', '/wp-login.php', '/api/v1/messages/1/steal', '/icons/../../etc']) expect(routeOf(path)).toBe('other');
  });
});
