// Tier no-creation-stacks (runtime/fast/no_creation_stacks.py says why): cdktf's tokens record an empty creation
// stack. cdktf's classes call `captureStackTrace` through its module's exports at each construction, so replacing
// the export of that one module (cdktf/lib/tokens/private/stack-trace.js) is enough; every other module is Node's.
"use strict";
const Module = require("module");

const STACK_TRACE_MODULE = /[\\/]cdktf[\\/]lib[\\/]tokens[\\/]private[\\/]stack-trace\.js$/;
const load = Module.prototype.load;

Module.prototype.load = function loadWithoutCreationStacks(filename, ...rest) {
  const loaded = load.call(this, filename, ...rest);
  if (STACK_TRACE_MODULE.test(filename) && typeof this.exports.captureStackTrace === "function") {
    this.exports.captureStackTrace = function captureNoStackTrace() {
      return [];
    };
  }
  return loaded;
};
