// Recomputes an event's RFC 9162 inclusion proof and the tree head's Ed25519 signature in the
// browser (WebCrypto), so a reader need not trust the server's own "verified" claim.
(function () {
  "use strict";
  const el = document.getElementById("proof-data");
  if (!el) return;
  const data = JSON.parse(el.textContent);
  const enc = new TextEncoder();
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let i = 0;
    for (const p of parts) { out.set(p, i); i += p.length; }
    return out;
  };
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  // RFC 9162 §2.1.3.2
  async function verifyInclusion(leafHash, index, size, path, root) {
    if (index >= size) return false;
    let fn = index, sn = size - 1, r = leafHash;
    for (const p of path) {
      if (sn === 0) return false;
      if ((fn & 1) === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1; sn >>= 1;
    }
    return sn === 0 && hex(r) === hex(root);
  }

  function show(id, state) {
    const node = document.getElementById(id);
    node.textContent = node.dataset[state + "Text"];
    node.className = state === "ok" ? "ok" : state === "bad" ? "bad" : "small";
    node.dataset.state = state;
  }

  (async () => {
    const leaf = await sha256(concat(new Uint8Array([0]), enc.encode(data.payload)));
    const sth = data.proof.signed_tree_head;
    const ok = hex(leaf) === data.leaf_hash && await verifyInclusion(
      leaf, data.leaf_index, data.proof.tree_size, data.proof.audit_path.map(unhex), unhex(sth.root_hash));
    show("browser-proof", ok ? "ok" : "bad");
    try {
      const raw = Uint8Array.from(atob(data.public_key_raw_b64), (c) => c.charCodeAt(0));
      const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
      const sig = Uint8Array.from(atob(sth.signature), (c) => c.charCodeAt(0));
      const good = await crypto.subtle.verify({ name: "Ed25519" }, key, sig, enc.encode(data.sth_message));
      show("browser-signature", good ? "ok" : "bad");
    } catch (e) {
      show("browser-signature", "na");
    }
  })();
})();
