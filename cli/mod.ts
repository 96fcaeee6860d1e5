/**
 * @cortex/cli (work in progress).
 * @module
 */
export {};
