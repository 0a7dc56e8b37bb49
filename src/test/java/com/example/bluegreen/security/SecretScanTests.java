package com.example.bluegreen.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No secret in the repository: every file git tracks is scanned for private keys, access keys and tokens
 * of well-known formats, and passwords, secrets or tokens given a literal value. A literal that is not a
 * secret goes in {@link #NOT_SECRETS}, with the reason.
 */
class SecretScanTests {

	private static final Path PROJECT = Path.of("").toAbsolutePath();

	/** Literal values that look like secrets and are not. */
	private static final Map<String, String> NOT_SECRETS = Map.of("guest",
			"RabbitMQ's well-known default user, which the broker accepts from localhost only");

	private static final String CREDENTIAL_NAME = "[A-Za-z0-9_.-]*"
			+ "(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*";

	private static final List<Rule> RULES = List.of(
			new Rule("a private key", Pattern.compile("-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), 0),
			new Rule("an AWS access key id", Pattern.compile("\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b"), 0),
			new Rule("a GitHub token", Pattern.compile("\\bgh[pousr]_[A-Za-z0-9]{36,}\\b"), 0),
			new Rule("a Slack token", Pattern.compile("\\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
			// A quoted value given to a name that says it is a credential, in JSON, YAML, Java or shell.
			new Rule("a quoted literal secret", Pattern.compile(
					"(?i)[\"']?" + CREDENTIAL_NAME + "[\"']?\\h*[:=]\\h*([\"'])([^\"'\\s]+)\\1"), 2),
			// An unquoted value ending the line: a YAML or properties entry, an export, a -D option.
			new Rule("a literal secret", Pattern.compile(
					"(?im)(?:^|\\s)(?:export\\s+|-D)?" + CREDENTIAL_NAME + "\\h*[:=]\\h*([^\\s\"'#;,)]+)\\h*$"), 1));

	/** Values that refer to a secret kept elsewhere: ${ENV}, $VAR, %VAR%, @TOKEN@, <placeholder>, {{ x }}. */
	private static final Pattern REFERENCE = Pattern.compile("^(?:\\$|%|@|<|\\{|\\().*");

	private static final Set<String> NOT_VALUES = Set.of("true", "false", "null", "none", "changeme");

	/** Files that are keys or key stores by their name, whatever they contain. */
	private static final Pattern KEY_FILE = Pattern
		.compile("(?i).*(?:\\.pem|\\.key|\\.p12|\\.pfx|\\.jks|\\.keystore|/id_rsa|/id_ecdsa|/id_ed25519)$");

	@Test
	void trackedFilesContainNoSecret() {
		List<String> findings = new ArrayList<>();
		for (String file : trackedFiles()) {
			String text = readText(PROJECT.resolve(file));
			if (text != null) {
				scan(text).forEach((finding) -> findings.add(file + ":" + finding));
			}
		}
		assertThat(findings).as("secrets in tracked files").isEmpty();
	}

	@Test
	void noKeyOrKeyStoreFileIsTracked() {
		assertThat(trackedFiles()).filteredOn((file) -> KEY_FILE.matcher("/" + file).matches()).isEmpty();
	}

	@Test
	void scanFindsKeysTokensAndLiteralSecrets() {
		// Assembled here so that this file holds none of them.
		String pem = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n";
		String aws = "aws_access_key_id: " + "AKIA" + "IOSFODNN7EXAMPLE";
		String github = "GH=gh" + "p_" + "a".repeat(36);
		String yaml = "spring:\n  datasource:\n    pass" + "word: hunter2\n";
		String json = "{\"api_" + "key\": \"f00b4r\"}";
		String shell = "export DEPLOY_TOK" + "EN=abc123\n";
		String java = "String secr" + "et = \"s3cr3t-value\";";
		String property = "java -Dapp.client-secr" + "et=abc123";

		assertThat(scan(pem)).anySatisfy((finding) -> assertThat(finding).contains("a private key"));
		assertThat(scan(aws)).anySatisfy((finding) -> assertThat(finding).contains("an AWS access key id"));
		assertThat(scan(github)).anySatisfy((finding) -> assertThat(finding).contains("a GitHub token"));
		assertThat(scan(yaml)).singleElement().asString().isEqualTo("3: a literal secret (hunter2)");
		assertThat(scan(json)).singleElement().asString().contains("(f00b4r)");
		assertThat(scan(shell)).singleElement().asString().contains("(abc123)");
		assertThat(scan(java)).singleElement().asString().contains("(s3cr3t-value)");
		assertThat(scan(property)).singleElement().asString().contains("(abc123)");
	}

	@Test
	void scanLetsReferencesPlaceholdersAndKnownNonSecretsPass() {
		String text = String.join("\n", "    pass" + "word: guest", "    pass" + "word: ${SPRING_RABBITMQ_PASSWORD}",
				"TLS_" + "KEY=@TLS_KEY@", "keyFileVariable: 'SSH_KEY'", "for (String tok" + "en : tokens()) {",
				"pass" + "word: ''", "MVNW_PASS" + "WORD=''", "secr" + "et: ${DB_SECRET:}", "tok" + "en: true",
				"    ssl_certificate_" + "key @TLS_KEY@;");

		assertThat(scan(text)).isEmpty();
	}

	/** "line: what (value)" for each finding. */
	static List<String> scan(String text) {
		List<String> findings = new ArrayList<>();
		for (Rule rule : RULES) {
			Matcher matcher = rule.pattern().matcher(text);
			while (matcher.find()) {
				String value = matcher.group(rule.valueGroup());
				if (rule.valueGroup() == 0 || isLiteralSecret(value)) {
					findings.add(lineOf(text, matcher.start(rule.valueGroup())) + ": " + rule.what() + " (" + value + ")");
				}
			}
		}
		return findings;
	}

	private static long lineOf(String text, int offset) {
		return 1 + text.substring(0, offset).chars().filter((c) -> c == '\n').count();
	}

	private static boolean isLiteralSecret(String value) {
		return !value.isEmpty() && !REFERENCE.matcher(value).matches() && !NOT_VALUES.contains(value.toLowerCase(Locale.ROOT))
				&& !NOT_SECRETS.containsKey(value);
	}

	private static List<String> trackedFiles() {
		Path git = Tools.require("git", "git");
		ScriptProcess.Result listed = ScriptProcess.start(git, Map.of(), "-C", PROJECT.toString(), "ls-files")
			.waitFor(Duration.ofMinutes(1));
		assertThat(listed.exitCode()).as("git ls-files in %s (the scan needs a git checkout): %s", PROJECT, listed)
			.isZero();
		List<String> files = listed.stdout().lines().filter((file) -> Files.isRegularFile(PROJECT.resolve(file))).toList();
		assertThat(files).as("tracked files").isNotEmpty();
		return files;
	}

	/** The file as text, or null when it is binary (has a NUL byte). */
	private static String readText(Path file) {
		try {
			byte[] bytes = Files.readAllBytes(file);
			for (byte b : bytes) {
				if (b == 0) {
					return null;
				}
			}
			return new String(bytes, StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private record Rule(String what, Pattern pattern, int valueGroup) {
	}

}
