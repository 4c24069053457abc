// How a /k8s path is read before the view rule decides: the Kubernetes API server's RequestInfo,
// and the refusal of paths that could be read two ways.
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/util/http-error.js';
import { k8sAccess, pathSegments } from '../../src/http/k8s-request.js';
import { viewAllows } from '../../src/access/view-role.js';

describe('k8sAccess', () => {
  it.each([
    ['GET', '/api/v1/pods', { kind: 'resource', verb: 'list', group: '', resource: 'pods', subresource: '' }],
    ['GET', '/api/v1/pods?watch=1', { verb: 'watch', resource: 'pods' }],
    ['GET', '/api/v1/pods?watch=false', { verb: 'list', resource: 'pods' }],
    ['GET', '/api/v1/watch/namespaces/a/secrets', { verb: 'watch', resource: 'secrets' }],
    ['GET', '/api/v1/namespaces/a/pods/p/log?follow=true', { verb: 'get', resource: 'pods', subresource: 'log' }],
    ['GET', '/api/v1/namespaces/a/pods/p/proxy/x/y', { verb: 'get', resource: 'pods', subresource: 'proxy' }],
    ['GET', '/api/v1/proxy/nodes/n', { verb: 'proxy', resource: 'nodes' }],
    ['GET', '/api/v1/namespaces/a', { verb: 'get', resource: 'namespaces', subresource: '' }],
    ['GET', '/api/v1/namespaces/a/status', { verb: 'get', resource: 'namespaces', subresource: 'status' }],
    ['GET', '/apis/apps/v1/namespaces/a/deployments/d/scale', { group: 'apps', resource: 'deployments', subresource: 'scale' }],
    ['HEAD', '/api/v1/%73ecrets', { verb: 'list', resource: 'secrets' }],
    ['POST', '/api/v1/namespaces/a/serviceaccounts/s/token', { verb: 'create', resource: 'serviceaccounts', subresource: 'token' }],
    ['DELETE', '/api/v1/namespaces/a/pods', { verb: 'deletecollection' }],
    ['GET', '/apis/apps/v1', { kind: 'nonResource', path: '/apis/apps/v1' }],
    ['GET', '/api', { kind: 'nonResource', path: '/api' }],
    ['GET', '/', { kind: 'nonResource', path: '/' }],
  ])('%s %s', (method, path, want) => {
    expect(k8sAccess(method, path)).toMatchObject(want);
  });

  it.each(['/a/../b', '/a/./b', '/a/%2e%2E/b', '/a/%2E', '/a%2fb', '/a/b%5Cc', '//a', '/a//b', '/a/%zz'])('400 for %s', (p) => {
    expect(() => pathSegments(p)).toThrow(HttpError);
    try {
      pathSegments(p);
    } catch (e) {
      expect((e as HttpError).status).toBe(400);
    }
  });
});

describe('viewAllows (Kubernetes view)', () => {
  const grants = (method: string, path: string) => viewAllows(k8sAccess(method, path));
  it('grants reads of view resources and discovery', () => {
    for (const p of ['/api/v1/pods', '/api/v1/namespaces/a/pods/p/log', '/apis/apps/v1/deployments?watch=1', '/apis/batch/v1/namespaces/a/cronjobs', '/api/v1/namespaces/a/events', '/apis/networking.k8s.io/v1/ingresses', '/api', '/apis/apps/v1', '/version', '/openapi/v3']) {
      expect([p, grants('GET', p)]).toEqual([p, true]);
    }
  });
  it('refuses what view leaves out and every write', () => {
    for (const p of ['/api/v1/secrets', '/api/v1/nodes', '/api/v1/namespaces/a/pods/p/exec', '/api/v1/namespaces/a/pods/p/proxy', '/api/v1/proxy/namespaces/a/pods/p', '/api/v1/namespaces/a/serviceaccounts/s/token', '/apis/authentication.k8s.io/v1/tokenreviews', '/apis/rbac.authorization.k8s.io/v1/roles', '/metrics', '/']) {
      expect([p, grants('GET', p)]).toEqual([p, false]);
    }
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) expect(grants(m, '/api/v1/namespaces/a/configmaps/c')).toBe(false);
  });
});
