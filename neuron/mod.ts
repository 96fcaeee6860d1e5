/**
 * @cortex/neuron (work in progress).
 * @module
 */
export {};
