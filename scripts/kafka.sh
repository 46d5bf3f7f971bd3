#!/usr/bin/env bash
# A real Apache Kafka broker for the tests (test/support/kafka.ts, test/conformance/kafka-broker.test.ts):
# one KRaft node (broker and controller in one JVM) on 127.0.0.1, its jars from Maven Central
# (org.apache.kafka:kafka_2.13 and its runtime dependencies, fetched by Maven into a cache once),
# its data in a directory the caller gives. No tarball, no Docker.
#
#   scripts/kafka.sh --check       say whether Java and the broker's jars (or Maven to fetch them) are there; exit 127 when not
#   scripts/kafka.sh --install     fetch the jars into the cache once (idempotent; nothing is fetched when they are there)
#   scripts/kafka.sh --start DIR   format DIR, start the broker on free loopback ports in the background, wait until it
#                                  serves, print host:port; DIR/bootstrap holds it too, DIR/pid the JVM's pid, DIR/broker.log its log
#   scripts/kafka.sh --stop DIR    stop the broker started in DIR (SIGTERM, then SIGKILL after KAFKA_STOP_WAIT seconds)
#   scripts/kafka.sh --libs        print the directory of the jars (after --install)
#
# KAFKA_VERSION picks the broker (default below; docs/kafka.md, "Test broker", says which were checked with kafkajs).
# ZTMAP_CACHE is the cache root (default $HOME/.cache/ztmap): the jars go to $ZTMAP_CACHE/kafka-VERSION/libs.
# JAVA=/path/to/java picks the JVM (otherwise $JAVA_HOME/bin/java, then java on PATH); KAFKA_HEAP is -Xmx (default 512m);
# KAFKA_SECURE_CERT, KAFKA_SECURE_KEY (PEM: the server's certificate chain and its unencrypted PKCS#8 key, for
# 127.0.0.1) and KAFKA_SECURE_PASSWORD add a SASL_SSL listener (TLS, SASL PLAIN user `ztmap` with that password):
# --start then also writes DIR/bootstrap-secure.
# KAFKA_JVM_OPTS adds JVM options (split on spaces). The JIT is left whole (no C1-only quick start):
# a bench through this broker should not be slowed by it.
set -euo pipefail

# 4.x serves the protocol versions kafkajs 2.2.4 speaks (see docs/kafka.md, "Test broker").
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
# The slf4j binding for the broker's slf4j-api 1.7.x (the broker's jars bring none; log4j-core alone
# is only used for its dynamic log levels). Logs go to DIR/broker.log.
SLF4J_VERSION=1.7.36
DEPENDENCY_PLUGIN=3.8.1
CACHE="${ZTMAP_CACHE:-$HOME/.cache/ztmap}/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"
STAMP="$CACHE/installed"
START_WAIT="${KAFKA_START_WAIT:-90}"
STOP_WAIT="${KAFKA_STOP_WAIT:-15}"

die() { echo "kafka: $*" >&2; exit 1; }
usage() { echo "Usage: $0 --check | --install | --start DIR | --stop DIR | --libs" >&2; exit 64; }

# The java to run: $JAVA, $JAVA_HOME/bin/java, java on PATH; empty when none runs.
java_bin() {
  local p
  for p in "${JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)"; do
    if [ -n "$p" ] && [ -x "$p" ] && "$p" -version >/dev/null 2>&1; then printf '%s\n' "$p"; return 0; fi
  done
}

# The feature release of a java (8 for 1.8.0_x, 17 for 17.0.15).
java_major() {
  local v
  v="$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  case "$v" in 1.*) v="${v#1.}" ;; esac
  printf '%s\n' "${v%%[.+-]*}"
}

# Kafka 4.x brokers need Java 17; 3.x runs on 11 and newer.
needed_java() { case "$KAFKA_VERSION" in 3.*) echo 11 ;; *) echo 17 ;; esac; }

require_java() {
  local j m need
  need="$(needed_java)"
  j="$(java_bin)"
  if [ -z "$j" ]; then
    echo "kafka: no Java found (looked at JAVA=, JAVA_HOME, PATH). The Kafka $KAFKA_VERSION broker needs Java $need or newer: install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA=/path/to/java." >&2
    return 127
  fi
  m="$(java_major "$j")"
  if [ -z "$m" ] || [ "$m" -lt "$need" ]; then
    echo "kafka: $j is Java ${m:-of unknown version}; the Kafka $KAFKA_VERSION broker needs Java $need or newer (Debian: apt-get install openjdk-17-jre-headless), or set JAVA=/path/to/java." >&2
    return 127
  fi
  printf '%s\n' "$j"
}

installed() { [ -f "$STAMP" ] && [ -d "$LIBS" ]; }

install() {
  if installed; then return 0; fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo "kafka: Maven (mvn) is needed once, to fetch the Kafka $KAFKA_VERSION broker's jars from Maven Central into $LIBS: install it (Debian: apt-get install maven)." >&2
    exit 127
  fi
  mkdir -p "$CACHE"
  # A pom of nothing but the broker and a logger binding; dependency:copy-dependencies puts the
  # runtime closure, as Maven resolves it, into libs/. Written anew each time, so a change here applies.
  cat >"$CACHE/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by ztmap scripts/kafka.sh: the jars of an Apache Kafka $KAFKA_VERSION broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ztmap.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  echo "kafka: fetching the Kafka $KAFKA_VERSION broker's jars from Maven Central into $LIBS" >&2
  rm -rf "$LIBS.tmp"
  local status=0
  mvn -B -q -f "$CACHE/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" -DoverWriteReleases=true >"$CACHE/mvn.log" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    tail -n 30 "$CACHE/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed (exit $status; full log in $CACHE/mvn.log). Is org.apache.kafka:kafka_2.13:$KAFKA_VERSION served by the Maven repository this machine reaches?"
  fi
  [ -f "$LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "mvn ran but $LIBS.tmp has no kafka_2.13-$KAFKA_VERSION.jar"
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
  date -u +%FT%TZ >"$STAMP"
  echo "kafka: $(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1) in $LIBS" >&2
}

# Two free loopback ports, one a line: bound to port 0 and released (by Node, which the
# tests run on anyway; python3 otherwise). A port taken in between makes the start fail, and
# --start tries again with new ones.
free_ports() {
  if command -v node >/dev/null 2>&1; then
    node -e '
      const net = require("node:net");
      const a = net.createServer().listen(0, "127.0.0.1", () => {
        const b = net.createServer().listen(0, "127.0.0.1", () => {
          const c = net.createServer().listen(0, "127.0.0.1", () => {
            console.log(a.address().port); console.log(b.address().port); console.log(c.address().port); a.close(); b.close(); c.close();
          });
        });
      });'
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
for x in s: print(x.getsockname()[1])'
  else
    die "node or python3 is needed to find free ports"
  fi
}

# A cluster id as Kafka writes them: 16 random bytes in URL-safe base64 without padding. It may start
# with `-`: passed as --cluster-id=ID, never as a separate argument, which the parser would take for an option.
cluster_id() { head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID: SIGTERM (the broker shuts down cleanly), then SIGKILL if it is still there after STOP_WAIT s.
stop_pid() {
  local pid="$1" i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_WAIT * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || return 0; sleep 0.1; done
}

# start_once DIR JAVA: one attempt; 0 when it serves, 2 when a port was taken (try again), 1 otherwise.
start_once() {
  local dir="$1" java="$2" ports broker controller secure id pid i
  mapfile -t ports < <(free_ports)
  broker="${ports[0]}"
  controller="${ports[1]}"
  secure="${ports[2]}"
  rm -rf "$dir/data" "$dir/pid" "$dir/bootstrap" "$dir/bootstrap-secure"
  mkdir -p "$dir/data"
  local listeners="PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller"
  local advertised="PLAINTEXT://127.0.0.1:$broker"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [ -n "${KAFKA_SECURE_CERT:-}" ]; then
    listeners="$listeners,SASL_SSL://127.0.0.1:$secure"
    advertised="$advertised,SASL_SSL://127.0.0.1:$secure"
    protocols="$protocols,SASL_SSL:SASL_SSL"
    # The PEM key store is one file: the key, then the chain.
    cat "$KAFKA_SECURE_KEY" "$KAFKA_SECURE_CERT" >"$dir/server-keystore.pem"
  fi
  cat >"$dir/server.properties" <<EOF
# Written by ztmap scripts/kafka.sh: one KRaft node, broker and controller, on loopback, for tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  if [ -n "${KAFKA_SECURE_CERT:-}" ]; then
    cat >>"$dir/server.properties" <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=$dir/server-keystore.pem
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_ztmap="${KAFKA_SECURE_PASSWORD:-}";
EOF
  fi
  id="$(cluster_id)"
  # --standalone: this node alone is the controller quorum (KIP-853 dynamic quorum, 3.9 and later).
  if ! "$java" -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$LIBS/*" kafka.tools.StorageTool format --cluster-id="$id" -c "$dir/server.properties" --standalone >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    echo "kafka: formatting $dir/data failed (above; also in $dir/format.log)" >&2
    return 1
  fi
  # setsid: the broker outlives this script, in a session of its own, so a terminal's or a test
  # runner's signal to this script's process group does not reach it; --stop DIR (or the tests'
  # own exit handler, test/support/kafka.ts) ends it by its pid.
  local session=() extra=()
  read -r -a extra <<<"${KAFKA_JVM_OPTS:-}"
  if command -v setsid >/dev/null 2>&1; then session=(setsid); fi
  "${session[@]}" "$java" -Xmx"${KAFKA_HEAP:-512m}" -Xms128m -XX:+UseG1GC -Xshare:auto \
    -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.utils.AppInfoParser=warn \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config.AbstractConfig=warn \
    -Dlog4j2.level=WARN \
    "${extra[@]}" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  for ((i = 0; i < START_WAIT * 10; i++)); do
    if ! alive "$pid"; then
      rm -f "$dir/pid"
      if grep -qs 'Address already in use' "$dir/broker.log"; then return 2; fi
      tail -n 40 "$dir/broker.log" >&2
      echo "kafka: the broker exited while starting (log above; whole log in $dir/broker.log)" >&2
      return 1
    fi
    # KafkaRaftServer logs this once the broker has caught up with the metadata and serves.
    if grep -qs 'Kafka Server started' "$dir/broker.log"; then
      echo "127.0.0.1:$broker" >"$dir/bootstrap"
      if [ -n "${KAFKA_SECURE_CERT:-}" ]; then echo "127.0.0.1:$secure" >"$dir/bootstrap-secure"; fi
      return 0
    fi
    sleep 0.1
  done
  stop_pid "$pid"
  rm -f "$dir/pid"
  tail -n 40 "$dir/broker.log" >&2
  echo "kafka: the broker did not start within ${START_WAIT}s (log above; whole log in $dir/broker.log)" >&2
  return 1
}

start() {
  local dir="$1" java attempt status
  java="$(require_java)" || exit 127
  if ! installed; then install; fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/pid" ] && alive "$(cat "$dir/pid")"; then die "a broker is already running from $dir (pid $(cat "$dir/pid")); stop it first: $0 --stop $dir"; fi
  for attempt in 1 2 3; do
    status=0
    start_once "$dir" "$java" || status=$?
    case "$status" in
      0) cat "$dir/bootstrap"; return 0 ;;
      2) echo "kafka: a port was taken while starting (attempt $attempt); trying other ports" >&2 ;;
      *) exit 1 ;;
    esac
  done
  die "no free ports after 3 attempts (see $dir/broker.log)"
}

stop() {
  local dir="$1" pid
  [ -f "$dir/pid" ] || return 0
  pid="$(cat "$dir/pid")"
  # Only a JVM that runs kafka.Kafka: a pid file left from another boot may name another process by now.
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then stop_pid "$pid"; fi
  rm -f "$dir/pid"
}

check() {
  local j
  j="$(require_java)" || exit 127
  if installed; then
    echo "kafka: Kafka $KAFKA_VERSION jars in $LIBS, $j" >&2
  elif command -v mvn >/dev/null 2>&1; then
    echo "kafka: Kafka $KAFKA_VERSION jars not fetched yet ($0 --install fetches them with $(command -v mvn)), $j" >&2
  else
    echo "kafka: the Kafka $KAFKA_VERSION jars are not in $LIBS and Maven (mvn) is missing to fetch them: install it (Debian: apt-get install maven), then run $0 --install." >&2
    exit 127
  fi
}

case "${1:-}" in
  --check) [ $# = 1 ] || usage; check ;;
  --install) [ $# = 1 ] || usage; require_java >/dev/null || exit 127; install; echo "kafka: Kafka $KAFKA_VERSION installed in $LIBS" >&2 ;;
  --start) [ $# = 2 ] || usage; start "$2" ;;
  --stop) [ $# = 2 ] || usage; stop "$2" ;;
  --libs) [ $# = 1 ] || usage; installed || die "not installed: run $0 --install"; printf '%s\n' "$LIBS" ;;
  *) usage ;;
esac
