// Tier code-cache (runtime/fast/code_cache.py says why): each module compiled as Node compiles it (Module.wrap, run
// in this context) with V8's cached data of the same source, if any; at exit the code of modules that had none, or
// whose data V8 rejected (another Node or flags), is written, including the functions compiled while the kernel ran.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");
const vm = require("vm");
const { threadId } = require("worker_threads");

const directory = process.env.ERP_FAST_CODE_CACHE_DIR;
const missing = []; // [file, script] for modules compiled without usable cached data
// V8 rejects data made under other V8 flags (any of them: --no-opt, --optimize-for-size, a semi-space size), so the
// flags are part of the key: runs under different flags (a cold cache, a tier off) each keep their own entries
// instead of rejecting and rewriting each other's. Preloads (--require) are not V8 flags.
const v8Flags = process.execArgv.filter((flag) => !flag.startsWith("--require")).join("\0");

function cacheFile(content) {
  const key = crypto.createHash("sha256").update(v8Flags).update("\0\0").update(content);
  return path.join(directory, key.digest("hex").slice(0, 32));
}

function readCache(file) {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

function makeRequire(mod) {
  // What Node's makeRequireFunction gives a module (without policy redirects, which are not used here).
  const require = (id) => mod.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

function writeMissing() {
  for (const [file, script] of missing) {
    try {
      fs.mkdirSync(directory, { recursive: true });
      const temporary = `${file}.${process.pid}.${threadId}`; // the index worker thread preloads this too
      fs.writeFileSync(temporary, script.createCachedData());
      fs.renameSync(temporary, file);
    } catch {
      // a cache that cannot be written only costs the next run its compile time
    }
  }
}

if (directory) {
  Module.prototype._compile = function compileWithCache(content, filename) {
    const file = cacheFile(content);
    const cachedData = readCache(file);
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) missing.push([file, script]);
    const wrapper = script.runInThisContext({ displayErrors: true });
    const dirname = path.dirname(filename);
    return wrapper.call(this.exports, this.exports, makeRequire(this), this, filename, dirname);
  };
  process.once("exit", writeMissing);
}
