/**
 * @cortex/gateway (work in progress).
 * @module
 */
export {};
