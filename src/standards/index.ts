/** The five detectors, in the order of the standards. */
import { encryptionDetector } from './encryption.js';
import { passwordsDetector } from './passwords.js';
import { privacyDetector } from './privacy.js';
import type { Detector } from './types.js';
import { updatesDetector } from './updates.js';
import { vulnerabilitiesDetector } from './vulnerabilities.js';

export const DETECTORS: readonly Detector[] = [
  encryptionDetector,
  updatesDetector,
  passwordsDetector,
  vulnerabilitiesDetector,
  privacyDetector,
];
