/**
 * A bearer credential for benches that call the secured API, obtained the way a user does it:
 * sign in as the admin (the password the bench configured), create an OAuth2 client, and take a
 * client-credentials token. Every timed request then pays the real token verification.
 */
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';

async function ok(response: Response, what: string): Promise<any> {
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(`${what}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export async function adminBearer(base: string, scopes: string[] = ['admin']): Promise<Record<string, string>> {
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: BENCH_ADMIN_PASSWORD }),
  });
  const session = await ok(login, 'sign-in');
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const client = await ok(
    await fetch(`${base}/api/v1/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': session.csrf_token },
      body: JSON.stringify({ name: 'bench', scopes }),
    }),
    'client creation',
  );
  const token = await ok(
    await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    }),
    'token request',
  );
  return { authorization: `Bearer ${token.access_token}` };
}
