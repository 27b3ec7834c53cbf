// Starts the S3 stand-in (s3rver behind the SigV4-checking front, see
// s3front.mjs) for one node:test file:
//
//   import { useS3 } from '../fakes/s3.mjs';
//   const s3 = useS3({ bucket: 'b' });      // started in before(), closed in after()
//   test('…', () => { s3.endpoint; s3.env(); s3.requests; … });
import { before, after } from 'node:test';
import { startS3 } from './s3front.mjs';

export { startS3, verifyRequest } from './s3front.mjs';

export function useS3(opts = {}) {
  const handle = {};
  let running = null;
  before(async () => {
    running = await startS3(opts);
    Object.assign(handle, running);
  });
  after(async () => {
    if (running)
      await running.close();
  });
  return handle;
}
