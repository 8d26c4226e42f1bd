/**
 * Polls `condition` every 10 ms while the background I/O it waits for runs, up to `attempts` times
 * (bounded by a count, not by a clock), and fails the test if it never holds.
 */
export const waitFor = async (condition: () => boolean | Promise<boolean>, attempts = 500): Promise<void> => {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`condition not reached after ${attempts} polls`);
};
