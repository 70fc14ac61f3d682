// ImageNet-C corruptions as a library: `corruptImage(rgb, w, h, name, severity, rng)` and the names it knows.
export { corruptImage, CORRUPTION_NAMES, diskKernel, type CorruptionName, type CorruptOptions } from './corruptions.js';
export { plasmaFractal, motionBlur, frostTexture } from './textures.js';
export { gaussianFilter, clippedZoom, pillowResize, rgbToHsv, hsvToRgb, type Plane } from './filters.js';
export { CORRUPT_OPTIONS, parseSeverities, type CorruptFlags } from './options.js';
