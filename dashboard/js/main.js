/** The dashboard served by `notcreepy serve` / `watch`: data from its own API. */
import { apiSource } from './source.js';
import { startApp } from './shell.js';

startApp(apiSource(), { live: true, editable: true });
