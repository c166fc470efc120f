# Kafka for local development and tests, sourced by infra.sh.
# Version: Apache Kafka 3.9.1 (Scala 2.13). kafkajs 2.2.4 speaks only older protocol API
# versions, which Kafka 4.x removed (KIP-896); 3.9 is the last 3.x line and runs KRaft, with
# no ZooKeeper, as production-ready. See docs/adr/0004-kafka-broker-version.md.
# The broker's jars come from Maven Central into a cache outside git, one combined
# broker+controller listens on 127.0.0.1.

KAFKA_VERSION=3.9.1
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
WEFT_CACHE_DIR=${WEFT_CACHE_DIR:-$HOME/.cache/weft}
KAFKA_HOME="$WEFT_CACHE_DIR/kafka/$KAFKA_VERSION"
KAFKA_RUN="$WEFT_CACHE_DIR/kafka/run"
KAFKA_DATA="$WEFT_CACHE_DIR/kafka/data"
KAFKA_PID="$KAFKA_RUN/kafka.pid"
KAFKA_LOG="$KAFKA_RUN/kafka.out"

kafka_pid_alive() { [ -f "$KAFKA_PID" ] && kill -0 "$(cat "$KAFKA_PID")" 2>/dev/null; }

# Up means the broker answers on its port and is ours or somebody's Kafka.
kafka_up() { port_open "$KAFKA_PORT" && { ! [ -f "$KAFKA_PID" ] || kafka_pid_alive || true; }; }

kafka_install() {
  [ -f "$KAFKA_HOME/.complete" ] && return 0
  command -v mvn >/dev/null || { fail kafka "Maven is needed to install Kafka from Maven Central"; return 1; }
  command -v java >/dev/null || { fail kafka "Java 17+ is needed to run Kafka"; return 1; }
  echo "  … kafka     installing Kafka $KAFKA_VERSION from Maven Central into $KAFKA_HOME"
  local pom
  pom=$(mktemp -d)
  cat >"$pom/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.weft.infra</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- The distribution's logging backend: slf4j to reload4j. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$KAFKA_HOME"
  if ! (cd "$pom" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" >"$pom/mvn.log" 2>&1); then
    fail kafka "download from Maven Central failed:"; tail -n 20 "$pom/mvn.log" >&2; rm -rf "$pom"; return 1
  fi
  rm -rf "$pom"
  touch "$KAFKA_HOME/.complete" # only after a complete copy, so an interrupted install is redone
}

kafka_configure() {
  mkdir -p "$KAFKA_RUN" "$KAFKA_DATA"
  cat >"$KAFKA_RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=12
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
PROPS
  cat >"$KAFKA_RUN/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_RUN/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -Dlog4j.configuration="file:$KAFKA_RUN/log4j.properties" -cp "$KAFKA_HOME/libs/*" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_RUN/server.properties" >"$KAFKA_RUN/format.log" 2>&1 ||
      { fail kafka "could not format the KRaft storage:"; tail -n 20 "$KAFKA_RUN/format.log" >&2; return 1; }
  fi
}

kafka_start() {
  if port_open "$KAFKA_PORT"; then
    fail kafka "127.0.0.1:$KAFKA_PORT is taken by another process"; return 1
  fi
  nohup java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Dlog4j.configuration="file:$KAFKA_RUN/log4j.properties" -Dkafka.logs.dir="$KAFKA_RUN" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_RUN/server.properties" >"$KAFKA_LOG" 2>&1 &
  echo $! >"$KAFKA_PID"
  local deadline=$((SECONDS + WAIT_SECONDS))
  until port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$KAFKA_RUN/server.log" 2>/dev/null; do
    if ! kafka_pid_alive; then
      fail kafka "the broker exited:"; tail -n 20 "$KAFKA_LOG" "$KAFKA_RUN/server.log" 2>/dev/null >&2; rm -f "$KAFKA_PID"; return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail kafka "not ready within ${WAIT_SECONDS}s:"; tail -n 20 "$KAFKA_RUN/server.log" >&2; return 1
    fi
    sleep 0.5
  done
}

kafka_ensure() {
  local address="kafka 127.0.0.1:$KAFKA_PORT"
  if port_open "$KAFKA_PORT"; then ok kafka "$address (already running)"; return 0; fi
  kafka_install || return 1
  kafka_configure || return 1
  # A pid file whose process is gone is stale: the broker died or the machine restarted.
  kafka_pid_alive || rm -f "$KAFKA_PID"
  kafka_start || return 1
  ok kafka "$address (started Kafka $KAFKA_VERSION, KRaft)"
}

kafka_stop() {
  if ! kafka_pid_alive; then rm -f "$KAFKA_PID"; ok kafka "not running (nothing to stop)"; return 0; fi
  local pid
  pid=$(cat "$KAFKA_PID")
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.5
  done
  rm -f "$KAFKA_PID"
  ok kafka "stopped"
}
