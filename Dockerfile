# syntax=docker/dockerfile:1
# Dockerfile — the app image: built with the Maven wrapper (no JDK or Maven needed on the host), run from
# the extracted, layered jar on a JRE as a non-root user. docker-compose.yml runs it as app-blue and
# app-green; `docker build -t bluegreen:1.0.1 .` builds a version by hand.
#
# Layers, least often changed first, so a rebuild after a code change only ships the application layer:
# dependencies, spring-boot-loader, snapshot-dependencies, application (java -Djarmode=tools ... list-layers).

# --- build: ./mvnw package, tests skipped (they need Redis, RabbitMQ and nginx: CI runs ./mvnw verify) ---
FROM eclipse-temurin:17-jdk-noble AS build
WORKDIR /build
COPY mvnw pom.xml ./
COPY .mvn/ .mvn/
COPY src/ src/
# The cache mount keeps ~/.m2 between builds. The version is the pom's unless given: --build-arg REVISION=1.0.1
ARG REVISION=
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -q package -DskipTests ${REVISION:+-Drevision=${REVISION}}

# --- extract: the Boot jar as layers, with its launcher ---
FROM eclipse-temurin:17-jre-noble AS extract
WORKDIR /extract
COPY --from=build /build/target/app.jar app.jar
RUN java -Djarmode=tools -jar app.jar extract --layers --launcher --destination extracted

# --- runtime ---
FROM eclipse-temurin:17-jre-noble
# The official nginx image's worker group. The app's unix sockets are created in /app/run, which is setgid
# to that group: nginx's workers can connect to the rw-rw---- sockets, nobody else can (the host's
# scripts/lib/common.sh ensure_dirs does the same to APP_HOME/run).
ARG NGINX_GID=101
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app \
    && install -d -o app -g "${NGINX_GID}" -m 2750 /app/run
WORKDIR /app
# Owned by root, read-only for the app user.
COPY --from=extract /extract/extracted/dependencies/ ./
COPY --from=extract /extract/extracted/spring-boot-loader/ ./
COPY --from=extract /extract/extracted/snapshot-dependencies/ ./
COPY --from=extract /extract/extracted/application/ ./
# In a container the app listens on all interfaces (nginx and the healthcheck reach it) on SERVER_PORT;
# compose sets 8081 for blue, 8082 for green. JVM options: JAVA_TOOL_OPTIONS.
ENV SERVER_ADDRESS=0.0.0.0 \
    SERVER_PORT=8080
EXPOSE 8080
USER 10001:10001
# Ready = the readiness group (Redis and RabbitMQ reachable) answers 200; curl -f fails on any other status.
HEALTHCHECK --interval=5s --timeout=3s --start-period=120s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${SERVER_PORT}/actuator/health/readiness" || exit 1
# SIGTERM (docker stop's default) starts Spring's graceful shutdown; give it stop_grace_period: 60s.
ENTRYPOINT ["java", "org.springframework.boot.loader.launch.JarLauncher"]
