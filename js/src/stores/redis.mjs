// Redis as a revocation store, through either of the two common clients.

function redisKind(client, kind) {
  if (kind === "ioredis" || kind === "node-redis") return kind;
  if (kind !== undefined) throw new TypeError('RedisStore kind must be "ioredis" or "node-redis"');
  // node-redis (v4 and later) clients expose isOpen and sendCommand(string[]); ioredis clients
  // expose call(command, ...args) and a status string.
  if (typeof client.isOpen === "boolean" && typeof client.sendCommand === "function") return "node-redis";
  if (typeof client.call === "function" && typeof client.status === "string") return "ioredis";
  throw new TypeError("RedisStore needs a node-redis (v4+) or an ioredis client");
}

/**
 * Redis through a node-redis (v4 and later) or ioredis client: `GET key` and
 * `SET key value EX ttl`. Keys are the Worker's (`jti:…`, `sub:…`, `global`) after `prefix`.
 */
export class RedisStore {
  #client;
  #prefix;
  #kind;

  constructor(client, { prefix = "", kind } = {}) {
    if (!client || typeof client !== "object") throw new TypeError("RedisStore needs a Redis client");
    this.#kind = redisKind(client, kind);
    this.#client = client;
    this.#prefix = String(prefix);
  }

  async get(key) {
    const k = this.#prefix + key;
    const value =
      this.#kind === "node-redis" ? await this.#client.sendCommand(["GET", k]) : await this.#client.get(k);
    return value === null || value === undefined ? null : String(value);
  }

  async put(key, value, ttlSeconds) {
    const k = this.#prefix + key;
    const ttl = String(Math.max(1, Math.ceil(ttlSeconds)));
    if (this.#kind === "node-redis") await this.#client.sendCommand(["SET", k, value, "EX", ttl]);
    else await this.#client.set(k, value, "EX", ttl);
  }
}
