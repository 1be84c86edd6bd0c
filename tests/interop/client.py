#!/usr/bin/python3
"""A stemx client written from proto/stemx.proto, docs/PROTOCOL.md and
docs/SECURITY.md alone (pyzmq, protobuf and PyNaCl from Debian), run by
test_interop against a real broker.

    client.py keygen --out DIR --org ORG --pillar PILLAR --roles ROLES
        makes NAME.cert and NAME.cert_secret as SECURITY.md 2.1 says
    client.py example --doc docs/SECURITY.md
        recomputes the worked signing example of SECURITY.md 2.5
    client.py run --request EP --updates EP --broker-cert FILE --secret FILE
        speaks the protocol: every step is checked, the first failure
        exits 1 with what differs; on success prints one JSON line

It imports the module protoc generated (stemx_pb2) from --pb2 DIR.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
import uuid

import nacl.bindings
import nacl.signing
import zmq
from zmq.utils import z85

stemx = None                    # the generated module, loaded in main()


def fail(text):
    print("interop: " + text, file=sys.stderr)
    sys.exit(1)


def check(condition, text):
    if not condition:
        fail(text)


# --------------------------------------------------------------------------
#  Key files (SECURITY.md 2.1): ZPL, values quoted, Z85 keys

def zpl_read(path):
    """The name = "value" pairs of a ZPL file, by section."""
    sections, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            if not line[0].isspace():
                section = line.strip()
                sections[section] = {}
                continue
            m = re.match(r'\s+([\w-]+)\s*=\s*"(.*)"\s*$', line)
            check(m is not None, "%s: cannot read line %r" % (path, line))
            sections[section][m.group(1)] = m.group(2)
    return sections


def keygen(out, org, pillar, roles):
    seed = os.urandom(32)
    signing = nacl.signing.SigningKey(seed)
    sign_public = bytes(signing.verify_key)
    sign_secret = seed + sign_public                # 64 bytes: seed || public key
    curve_public = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(sign_public)
    curve_secret = nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(sign_secret)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta = [("org", org), ("pillar", pillar), ("roles", roles), ("created", created),
            ("sign-key", z85.encode(sign_public).decode())]
    name = org.split(":", 1)[1]
    public = "metadata\n" + "".join('    %s = "%s"\n' % kv for kv in meta)
    secret = public.replace("metadata\n", "metadata\n    sign-secret = \"%s\"\n"
                            % z85.encode(sign_secret).decode())
    public += 'curve\n    public-key = "%s"\n' % z85.encode(curve_public).decode()
    secret += 'curve\n    public-key = "%s"\n    secret-key = "%s"\n' % (
        z85.encode(curve_public).decode(), z85.encode(curve_secret).decode())
    with open(os.path.join(out, name + ".cert"), "w") as f:
        f.write("#   stemx interop key (public)\n" + public)
    path = os.path.join(out, name + ".cert_secret")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("#   stemx interop key (secret)\n" + secret)


class Identity:
    def __init__(self, path):
        keys = zpl_read(path)
        meta, curve = keys["metadata"], keys["curve"]
        self.org = meta["org"]
        self.pillar = meta["pillar"]
        secret = z85.decode(meta["sign-secret"])
        check(len(secret) == 64, "sign-secret is not 64 bytes")
        self.signing = nacl.signing.SigningKey(secret[:32])
        check(bytes(self.signing.verify_key) == z85.decode(meta["sign-key"]),
              "sign-secret does not end with sign-key")
        self.curve_public = curve["public-key"].encode()
        self.curve_secret = curve["secret-key"].encode()


# --------------------------------------------------------------------------
#  Signing (SECURITY.md 2.5)

SIGNED_FIELDS = ("event_id", "key", "op", "client_time_ms", "entry", "expected_version")


def signed_part(event):
    part = stemx.Event()
    for name in SIGNED_FIELDS:
        if name == "entry":
            if event.HasField("entry"):
                part.entry.CopyFrom(event.entry)
        else:
            setattr(part, name, getattr(event, name))
    return part.SerializeToString()


def sign(event, identity):
    event.ClearField("signature")
    event.ClearField("signer")
    event.signature = identity.signing.sign(signed_part(event)).signature
    event.signer = bytes(identity.signing.verify_key)


def verify(event, sign_key):
    check(event.version == event.expected_version + 1,
          "%s: version %d does not follow expected_version %d"
          % (event.key, event.version, event.expected_version))
    nacl.signing.VerifyKey(sign_key).verify(signed_part(event), event.signature)


def example(doc):
    """The worked example of SECURITY.md: its hex lines recomputed."""
    text = open(doc, encoding="utf-8").read()
    values = dict(re.findall(r"^\s*(seed|event|signed part|sign-key|signature): ([0-9a-f]+)$",
                             text, re.M))
    for name in ("seed", "event", "signed part", "sign-key", "signature"):
        check(name in values, "%s: no '%s:' line in the worked example" % (doc, name))
    event = stemx.Event()
    event.ParseFromString(bytes.fromhex(values["event"]))
    part = signed_part(event)
    check(part.hex() == values["signed part"], "signed part differs:\n  doc  %s\n  ours %s"
          % (values["signed part"], part.hex()))
    signing = nacl.signing.SigningKey(bytes.fromhex(values["seed"]))
    check(bytes(signing.verify_key).hex() == values["sign-key"], "sign-key differs")
    check(signing.sign(part).signature.hex() == values["signature"], "signature differs")
    check(event.signature.hex() == values["signature"], "the event's signature differs")
    print(json.dumps({"example": "ok", "key": event.key}))


# --------------------------------------------------------------------------
#  The protocol

class Session:
    def __init__(self, context, endpoint, identity, server_key):
        self.socket = context.socket(zmq.DEALER)
        self.socket.curve_secretkey = identity.curve_secret
        self.socket.curve_publickey = identity.curve_public
        self.socket.curve_serverkey = server_key
        self.socket.linger = 0
        self.socket.connect(endpoint)

    def request(self, request, timeout_ms=5000):
        self.socket.send(request if isinstance(request, bytes) else request.SerializeToString())
        return self.reply(timeout_ms)

    def reply(self, timeout_ms=5000):
        if not self.socket.poll(timeout_ms):
            fail("no reply in %d ms" % timeout_ms)
        frames = self.socket.recv_multipart()
        check(len(frames) == 1, "a reply of %d frames" % len(frames))
        reply = stemx.Reply()
        reply.ParseFromString(frames[0])
        return reply

    def hello(self, node):
        reply = self.request(stemx.Request(hello=stemx.Hello(node=node)))
        check(reply.WhichOneof("body") == "welcome", "HELLO answered with %s" % reply)
        return reply.welcome

    def publish(self, events):
        request = stemx.Request(publish=stemx.Publish(
            events=[e.SerializeToString() for e in events]))
        reply = self.request(request)
        check(reply.WhichOneof("body") == "ack", "PUBLISH answered with %s" % reply)
        check(len(reply.ack.results) == len(events), "one result per event")
        return reply.ack.results


def reason_name(value):
    return stemx.Reason.Name(value)


def new_event(key, entry, identity, expected=0, client_time=None):
    event = stemx.Event(event_id=uuid.uuid4().bytes, key=key, op=stemx.OP_UPSERT,
                        client_time_ms=int(time.time() * 1000) if client_time is None
                        else client_time, expected_version=expected)
    event.entry.CopyFrom(entry)
    if identity:
        sign(event, identity)
    return event


def initiative(key, owner, owner_pillar, partners=()):
    ini = stemx.Initiative(id=key, title="Python interop " + key, od_codes=["OD 1.1.1"],
                           status="running")
    ini.owner.org = owner
    ini.owner.helix_pillar = owner_pillar
    ini.period.start = "2026-01-01"
    for org, pillar in partners:
        ini.partners.add(org=org, helix_pillar=pillar)
    return stemx.Entry(initiative=ini)


def expect(session, event, reason, mention=None):
    result = session.publish([event])[0]
    check(result.reason == reason and (mention is None or mention in result.text),
          "%s: got %s %r, expected %s mentioning %r" % (event.key, reason_name(result.reason),
          result.text, reason_name(reason), mention))
    return result


def run(args):
    me = Identity(args.secret)
    broker_key = zpl_read(args.broker_cert)["curve"]["public-key"].encode()
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.curve_secretkey, sub.curve_publickey = me.curve_secret, me.curve_public
    sub.curve_serverkey = broker_key
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(args.updates)
    session = Session(context, args.request, me, broker_key)

    # HELLO comes first (PROTOCOL.md 4.1)
    reply = session.request(stemx.Request(ping=stemx.Ping(seq=0)))
    check(reply.WhichOneof("body") == "error" and reply.error.reason == stemx.R_NO_SESSION,
          "PING before HELLO: %s" % reply)
    # An unknown field in a HELLO is ignored (stemx.proto): field 99, varint 1
    inner = stemx.Hello(node="python").SerializeToString() + bytes([0x98, 0x06, 0x01])
    hello = bytes([0x0a, len(inner)]) + inner
    reply = session.request(hello)
    check(reply.WhichOneof("body") == "welcome", "HELLO with an unknown field: %s" % reply)
    welcome = session.hello("python")
    check(len(welcome.lineage) == 16 and len(welcome.head) == 32, "WELCOME fields")

    # Our organisation entry, then an initiative of it
    org = stemx.Organisation(id=me.org, name="Python Lab", helix_pillar=me.pillar,
                             kind="sector_federation", region="flanders")
    result = expect(session, new_event(me.org, stemx.Entry(organisation=org), me), stemx.R_OK)
    check(result.version == 1 and result.seq > 0, "first version 1")
    ini_key = "ini:" + me.org.split(":")[1] + "-1"
    result = expect(session, new_event(ini_key, initiative(ini_key, me.org, me.pillar), me),
                    stemx.R_OK)
    keys = [me.org, ini_key]

    # Integrity rules (PROTOCOL.md 5): each refused with its reason
    other = "knowledge" if me.pillar != "knowledge" else "industry"
    expect(session, new_event("ini:py-bad-1", initiative("ini:py-bad-1", me.org, other), me),
           stemx.R_INVALID, "owner.helix_pillar: %s, but %s is %s" % (other, me.org, me.pillar))
    expect(session, new_event("ini:py-bad-2", initiative("ini:py-bad-2", me.org, ""), me),
           stemx.R_INVALID, "owner.helix_pillar: missing")
    expect(session, new_event("ini:py-bad-3", initiative("ini:py-bad-3", me.org, me.pillar,
                                                         [("org:nobody", "industry")]), me),
           stemx.R_INVALID, "partners[0].org: org:nobody is not a known organisation")
    for when in (-5, 10 ** 15):
        expect(session, new_event("ini:py-bad-4", initiative("ini:py-bad-4", me.org, me.pillar),
                                  me, client_time=when), stemx.R_BAD_DATES, "client_time_ms")
    expect(session, new_event(ini_key, initiative(ini_key, me.org, me.pillar), me),
           stemx.R_CONFLICT, "expected version 0, current 1")
    tampered = new_event("ini:py-bad-5", initiative("ini:py-bad-5", me.org, me.pillar), me)
    tampered.entry.initiative.title = "changed after signing"
    expect(session, tampered, stemx.R_BAD_SIGNATURE)
    unknown = new_event("ini:py-bad-6", initiative("ini:py-bad-6", me.org, me.pillar), None)
    unknown_bytes = unknown.SerializeToString() + bytes([0x98, 0x06, 0x01])
    reply = session.request(stemx.Request(publish=stemx.Publish(events=[unknown_bytes])))
    check(reply.WhichOneof("body") == "ack"
          and reply.ack.results[0].reason == stemx.R_MALFORMED
          and "unknown field number 99" in reply.ack.results[0].text,
          "an unknown field in an event: %s" % reply)

    # An update expects the current version
    result = expect(session, new_event(ini_key, initiative(ini_key, me.org, me.pillar), me,
                                       expected=1), stemx.R_OK)
    check(result.version == 2, "update makes version 2")
    last_seq = result.seq

    # Our events come on the updates socket
    deadline, seen = time.time() + 10, set()
    while time.time() < deadline and ini_key not in seen:
        if sub.poll(500):
            topic, body = sub.recv_multipart()
            if topic == b"E":
                event = stemx.Event()
                event.ParseFromString(body)
                seen.add(event.key)
    check(ini_key in seen, "no E message for %s on the updates socket" % ini_key)

    # Snapshot with credit: every entry's signature verifies
    sign_keys = {me.org: bytes(me.signing.verify_key)}
    reply = session.request(stemx.Request(snapshot=stemx.SnapshotRequest(credit=4)))
    entries = {}
    while reply.WhichOneof("body") == "chunk":
        for data in reply.chunk.events:
            event = stemx.Event()
            event.ParseFromString(data)
            entries[event.key] = event
        session.socket.send(stemx.Request(credit=stemx.Credit(credit=1)).SerializeToString())
        reply = session.reply()
    check(reply.WhichOneof("body") == "snapshot_end", "snapshot ended with %s" % reply)
    end = reply.snapshot_end
    check(end.entries == len(entries), "snapshot: %d entries, end says %d"
          % (len(entries), end.entries))
    for key in keys:
        check(key in entries, "snapshot lacks %s" % key)
        verify(entries[key], sign_keys[me.org])
    check(entries[ini_key].version == 2, "snapshot holds version 2 of %s" % ini_key)

    # The whole log: the hash chain recomputed equals the broker's head
    head, seq, prior_checked = bytes(32), 0, False
    while seq < end.seq:
        reply = session.request(stemx.Request(fetch=stemx.Fetch(**{"from": seq + 1})))
        check(reply.WhichOneof("body") == "log", "FETCH answered with %s" % reply)
        if not prior_checked:
            check(reply.log.prior_seq == 0 and reply.log.prior_head == bytes(32),
                  "prior head of a fetch from 1")
            prior_checked = True
        check(len(reply.log.events) > 0, "empty range below the broker's seq")
        for data in reply.log.events:
            event = stemx.Event()
            event.ParseFromString(data)
            seq += 1
            check(event.seq == seq, "log gap at %d" % seq)
            head = hashlib.sha256(head + data).digest()
    check(head == end.head, "recomputed head %s, snapshot says %s" % (head.hex(), end.head.hex()))
    reply = session.request(stemx.Request(ping=stemx.Ping(seq=seq)))
    check(reply.WhichOneof("body") == "pong" and reply.pong.head_at == head,
          "PONG head_at differs from the recomputed head")
    print(json.dumps({"keys": keys, "seq": last_seq, "head": head.hex()}))


def main():
    global stemx
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["keygen", "example", "run"])
    parser.add_argument("--pb2", help="folder of the generated stemx_pb2")
    parser.add_argument("--out")
    parser.add_argument("--org")
    parser.add_argument("--pillar")
    parser.add_argument("--roles", default="publisher, reader")
    parser.add_argument("--doc")
    parser.add_argument("--request")
    parser.add_argument("--updates")
    parser.add_argument("--broker-cert")
    parser.add_argument("--secret")
    args = parser.parse_args()
    if args.command == "keygen":
        keygen(args.out, args.org, args.pillar, args.roles)
        return
    sys.path.insert(0, args.pb2)
    import stemx_pb2
    stemx = stemx_pb2
    if args.command == "example":
        example(args.doc)
    else:
        run(args)


if __name__ == "__main__":
    main()
