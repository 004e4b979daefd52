// Tier defs-on-demand (runtime/fast/defs_on_demand.py says why): the kernel reads a type's definition from the
// runtime index's defs file by its byte range, instead of holding the whole file. Only jsii's LazyTypes.get reads
// that file (with readFileSync, then `toString("utf-8", start, end)` per type), so only that read is answered by
// a reader of the same bytes; any other read of any file is Node's own.
"use strict";
const fs = require("fs");

const DEFS_FILE = /[\\/]\.jsii\.runtime-defs\.v1\.jsonl$/;
const readFileSync = fs.readFileSync;

class DefsOnDemand {
  constructor(path) {
    this.descriptor = fs.openSync(path, "r"); // kept open: the kernel lives for one synth
  }

  toString(encoding, start, end) {
    const bytes = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < bytes.length) {
      const read = fs.readSync(this.descriptor, bytes, done, bytes.length - done, start + done);
      if (read === 0) throw new Error(`defs file ended at byte ${start + done} of ${end}`);
      done += read;
    }
    return bytes.toString(encoding);
  }
}

function calledByLazyTypes() {
  const frames = new Error().stack.split("\n", 4);
  return frames.length === 4 && frames[3].includes("LazyTypes.get ");
}

fs.readFileSync = function readDefsOnDemand(path, ...rest) {
  if (rest.length === 0 && typeof path === "string" && DEFS_FILE.test(path) && calledByLazyTypes()) {
    return new DefsOnDemand(path);
  }
  return readFileSync.call(this, path, ...rest);
};
