/**
 * Debian's chromium driven by puppeteer-core (never the full `puppeteer`, which downloads a browser
 * this network cannot reach). `--no-sandbox`: CI and this machine run as root. No DNS prefetch:
 * the OSM preview holds links to klarna.com, and nothing here may leave the machine (puppeteer's
 * defaults already turn off background networking). CHROMIUM_PATH points elsewhere when needed.
 */
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const launchChromium = (): Promise<Browser> =>
  puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--dns-prefetch-disable'] });
