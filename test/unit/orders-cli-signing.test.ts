/**
 * When `npm run orders` signs its requests: a deployed API (IAM-authorized command routes) always,
 * npm start (open routes, its banner says so) never, and for which region.
 */
import { signingOf } from '../../bin/local/orders-cli.js';
import { regionOfApiUrl } from '../../bin/local/signed-fetch.js';

const none = new Map<string, string>();
const deployed = 'https://a1b2c3d4e5.execute-api.eu-north-1.amazonaws.com/prod';

describe('signing the operator tool’s requests', () => {
  it('reads the region from a default execute-api URL (China partition too)', () => {
    expect(regionOfApiUrl(deployed)).toBe('eu-north-1');
    expect(regionOfApiUrl('https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod')).toBe('cn-north-1');
    expect(regionOfApiUrl('https://shop-api.example.com/prod')).toBeUndefined();
  });

  it('signs for a deployed API, with the URL’s region before AWS_REGION', () => {
    expect(signingOf(deployed, false, none, { AWS_REGION: 'us-east-1' })).toEqual({ sign: true, region: 'eu-north-1' });
  });

  it('signs for a custom domain with AWS_REGION (else AWS_DEFAULT_REGION), and says what is missing without either', () => {
    expect(signingOf('https://shop-api.example.com/prod', false, none, { AWS_REGION: 'eu-west-1' })).toEqual({ sign: true, region: 'eu-west-1' });
    expect(signingOf('https://shop-api.example.com/prod', false, none, { AWS_DEFAULT_REGION: 'eu-west-2' })).toEqual({ sign: true, region: 'eu-west-2' });
    expect(signingOf('https://shop-api.example.com/prod', false, none, {})).toEqual(expect.stringContaining('set AWS_REGION'));
  });

  it('does not sign for npm start or another loopback address, unless told to', () => {
    expect(signingOf('http://127.0.0.1:3000', true, none, {})).toEqual({ sign: false });
    expect(signingOf('http://localhost:3000', false, none, {})).toEqual({ sign: false });
    expect(signingOf('http://[::1]:3000', false, none, {})).toEqual({ sign: false });
    expect(signingOf('http://127.0.0.1:3000/prod', false, new Map([['sign', 'true']]), { AWS_REGION: 'eu-north-1' })).toEqual({ sign: true, region: 'eu-north-1' });
    expect(signingOf(deployed, false, new Map([['no-sign', 'true']]), {})).toEqual({ sign: false });
  });
});
