package com.example.bluegreen.pipeline;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import groovy.lang.Binding;
import groovy.lang.Closure;
import groovy.lang.GString;
import groovy.lang.GroovyObjectSupport;
import groovy.lang.GroovyClassLoader;
import groovy.lang.Script;
import org.codehaus.groovy.ast.ClassCodeVisitorSupport;
import org.codehaus.groovy.ast.ClassNode;
import org.codehaus.groovy.ast.expr.ConstantExpression;
import org.codehaus.groovy.ast.expr.MethodCallExpression;
import org.codehaus.groovy.ast.expr.NamedArgumentListExpression;
import org.codehaus.groovy.ast.expr.TupleExpression;
import org.codehaus.groovy.classgen.GeneratorContext;
import org.codehaus.groovy.control.CompilationFailedException;
import org.codehaus.groovy.control.CompilePhase;
import org.codehaus.groovy.control.CompilerConfiguration;
import org.codehaus.groovy.control.SourceUnit;
import org.codehaus.groovy.control.customizers.CompilationCustomizer;
import org.codehaus.groovy.runtime.InvokerHelper;
import org.codehaus.groovy.runtime.typehandling.DefaultTypeTransformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Evaluates the real Jenkinsfile with Groovy against a stub of the declarative pipeline DSL (no Jenkins
 * here). The stub records options, parameters and stages, decides each stage's {@code when} as Jenkins
 * does, runs the steps of the stages that pass, and records every step with its stage, environment and
 * bound credentials; {@code sh} is answered by the test instead of run, except where a test runs it for real.
 */
class JenkinsfileTests {

	private static final List<String> STAGES = List.of("Checkout", "Build & test", "Archive", "Deploy");

	private static final String BUILD_AND_TEST = "./mvnw -B verify";

	private static final Function<Step, ShResult> ALL_SUCCEED = (step) -> ShResult.ok("");

	private static final Pattern BUNDLE = Pattern.compile("(?m)^\\s*zip\\s");

	private static final Map<String, Class<?>> COMPILED = new ConcurrentHashMap<>();

	@Test
	void stagesRunInOrder() {
		Run run = evaluate("main", deployParameters("ssh"), ALL_SUCCEED);

		assertThat(run.pipeline().stageNames()).containsExactlyElementsOf(STAGES);
		assertThat(run.stagesRun()).containsExactlyElementsOf(STAGES);
		assertThat(run.result()).isEqualTo("SUCCESS");
	}

	@ParameterizedTest
	@ValueSource(strings = { "ssh", "fleet", "codedeploy" })
	void testsRunBeforeAnyDeploy(String target) {
		Run run = evaluate("main", deployParameters(target), ALL_SUCCEED);

		int buildAndTest = indexOf(run.steps(), (step) -> step.script().equals(BUILD_AND_TEST));
		int firstDeployStep = indexOf(run.steps(), (step) -> "Deploy".equals(step.stage()));
		assertThat(run.sh("Build & test")).containsExactly(BUILD_AND_TEST);
		assertThat(firstDeployStep).as("the deploy ran").isNotNegative();
		assertThat(buildAndTest).as("./mvnw -B verify before the first deploy step").isNotNegative()
			.isLessThan(firstDeployStep);
	}

	@Test
	void failingTestsStopTheBuildBeforeDeployAndTheirReportsAreStillRecorded() {
		Run run = evaluate("main", deployParameters("ssh"),
				(step) -> step.script().equals(BUILD_AND_TEST) ? ShResult.exit(1) : ShResult.ok(""));

		assertThat(run.result()).isEqualTo("FAILURE");
		assertThat(run.stagesRun()).containsExactly("Checkout", "Build & test");
		assertThat(run.steps()).filteredOn((step) -> step.name().equals("junit")).singleElement()
			.satisfies((junit) -> assertThat(junit.args().toString()).contains("target/surefire-reports",
					"target/failsafe-reports"));
	}

	@Test
	void everyStageHasItsOwnTimeoutWithinTheBuildTimeout() {
		Pipeline pipeline = evaluate("main", Map.of(), ALL_SUCCEED).pipeline();

		assertThat(pipeline.stages()).allSatisfy(
				(stage) -> assertThat(stage.options()).as("options of stage %s", stage.name()).containsKey("timeout"));
		Duration stages = pipeline.stages().stream().map((stage) -> timeout(stage.options()))
			.reduce(Duration.ZERO, Duration::plus);
		assertThat(timeout(pipeline.options())).isGreaterThanOrEqualTo(stages);
	}

	@Test
	void concurrentBuildsAreDisabled() {
		Pipeline pipeline = evaluate("main", Map.of(), ALL_SUCCEED).pipeline();

		assertThat(pipeline.options()).containsKey("disableConcurrentBuilds");
	}

	@Test
	void deployTargetIsAParameterThatDefaultsToNone() {
		Run run = evaluate("main", Map.of(), ALL_SUCCEED);

		assertThat(run.pipeline().parameter("DEPLOY_TARGET")).containsEntry("type", "choice")
			.containsEntry("choices", List.of("none", "ssh", "fleet", "codedeploy"));
		assertThat(run.pipeline().parameters()).extracting((parameter) -> parameter.get("name"))
			.contains("DEPLOY_HOST", "DEPLOY_USER", "APP_HOME", "FLEET_BATCH", "CODEDEPLOY_APPLICATION", "CODEDEPLOY_GROUP",
					"CODEDEPLOY_BUCKET", "AWS_REGION");
		assertThat(run.pipeline().parameter("APP_HOME")).containsEntry("defaultValue", "/opt/app");
		assertThat(run.stagesRun()).doesNotContain("Deploy");
	}

	@ParameterizedTest
	@CsvSource({ "main, none, false", "main, ssh, true", "main, codedeploy, true", "main, fleet, true", "feature/login, ssh, false",
			"feature/login, fleet, false",
			"feature/login, codedeploy, false", "develop, none, false" })
	void deployRunsOnlyOnMainWithADeployTarget(String branch, String target, boolean deploys) {
		Run run = evaluate(branch, deployParameters(target), ALL_SUCCEED);

		assertThat(run.stagesRun().contains("Deploy")).as("Deploy ran; its when: %s", run.when().get("Deploy"))
			.isEqualTo(deploys);
		assertThat(run.when().get("Deploy")).contains("branch main");
		assertThat(run.result()).isEqualTo("SUCCESS");
	}

	@Test
	void sshDeployCopiesTheReleaseAndRunsDeployScriptOnTheHost() {
		Run run = evaluate("main", deployParameters("ssh"), ALL_SUCCEED);

		List<Step> deploy = run.steps("Deploy", "sh");
		Step copy = deploy.stream().filter((step) -> step.script().contains("scp")).findFirst().orElseThrow();
		Step deployScript = deploy.stream().filter((step) -> step.script().contains("scripts/deploy.sh"))
			.findFirst().orElseThrow();
		assertThat(copy.script()).contains("target/app.jar scripts nginx", "$STAGING");
		assertThat(deployScript.script()).contains("ssh ", "'$STAGING/scripts/deploy.sh' '$STAGING/app.jar'",
				"APP_HOME=");
		assertThat(deploy.indexOf(copy)).isLessThan(deploy.indexOf(deployScript));
		assertThat(deployScript.env()).containsEntry("TARGET", "deploy@app1.example.com")
			.containsEntry("APP_HOME", "/opt/app")
			.containsEntry("STAGING", "/opt/app/incoming/build-42")
			.containsEntry("JENKINS_NODE_COOKIE", "dontKillMe");
		assertThat(deploy).allSatisfy((step) -> assertThat(step.credentials())
			.anySatisfy((binding) -> assertThat(binding).containsEntry("$class", "SSHUserPrivateKeyBinding")
				.containsEntry("credentialsId", "deploy-ssh")));
		assertThat(deploy).allSatisfy((step) -> assertThat(step.script()).doesNotContain("aws "));
		assertThat(run.result()).isEqualTo("SUCCESS");
	}

	@ParameterizedTest
	@CsvSource({ "1, traffic still goes to the old version", "2, bad input", "3, another deploy holds the lock",
			"255, ssh could not connect" })
	void sshDeployFailsTheBuildWithTheReasonOfTheExitCode(int exitCode, String reason) {
		Run run = evaluate("main", deployParameters("ssh"),
				(step) -> step.script().contains("scripts/deploy.sh") ? ShResult.exit(exitCode) : ShResult.ok(""));

		assertThat(run.result()).isEqualTo("FAILURE");
		assertThat(run.error()).contains("exited " + exitCode, reason);
	}

	@Test
	void fleetDeployRunsFleetScriptWithTheInventoryAndKeyCredentials() {
		Run run = evaluate("main", deployParameters("fleet"), ALL_SUCCEED);

		List<Step> deploy = run.steps("Deploy", "sh");
		assertThat(deploy).hasSize(1);
		Step fleet = deploy.get(0);
		assertThat(fleet.script()).contains("scripts/fleet.sh -i \"$FLEET_INVENTORY\" --batch \"$FLEET_BATCH\"",
				"deploy target/app.jar", "ANSIBLE_PRIVATE_KEY_FILE=\"$SSH_KEY\"");
		assertThat(fleet.env()).containsEntry("FLEET_BATCH", "1").containsEntry("ANSIBLE_HOST_KEY_CHECKING", "True");
		assertThat(fleet.credentials())
			.anySatisfy((binding) -> assertThat(binding).containsEntry("$class", "FileBinding")
				.containsEntry("credentialsId", "fleet-inventory"))
			.anySatisfy((binding) -> assertThat(binding).containsEntry("$class", "SSHUserPrivateKeyBinding")
				.containsEntry("credentialsId", "deploy-ssh"));
		assertThat(run.result()).isEqualTo("SUCCESS");
	}

	@ParameterizedTest
	@CsvSource({ "1, traffic still goes to the old version", "2, an unreachable host", "3, another deploy holds the lock" })
	void fleetDeployFailsTheBuildWithTheReasonOfTheExitCode(int exitCode, String reason) {
		Run run = evaluate("main", deployParameters("fleet"),
				(step) -> step.script().contains("scripts/fleet.sh") ? ShResult.exit(exitCode) : ShResult.ok(""));

		assertThat(run.result()).isEqualTo("FAILURE");
		assertThat(run.error()).contains("scripts/fleet.sh exited " + exitCode, reason);
	}

	@ParameterizedTest
	@ValueSource(strings = { "0", "-1", "1; reboot", "$(reboot)", "ten" })
	void fleetDeployRefusesABatchThatIsNotANumberOrAPercentage(String batch) {
		Map<String, String> parameters = new LinkedHashMap<>(deployParameters("fleet"));
		parameters.put("FLEET_BATCH", batch);

		Run run = evaluate("main", parameters, ALL_SUCCEED);

		assertThat(run.result()).isEqualTo("FAILURE");
		assertThat(run.error()).contains("FLEET_BATCH");
		assertThat(run.steps("Deploy", "sh")).isEmpty();
	}

	@ParameterizedTest
	@ValueSource(strings = { "", "app1.example.com; rm -rf /", "$(reboot)", "app1 example.com" })
	void sshDeployRefusesAHostThatIsNotAHostName(String host) {
		Map<String, String> parameters = new LinkedHashMap<>(deployParameters("ssh"));
		parameters.put("DEPLOY_HOST", host);

		Run run = evaluate("main", parameters, ALL_SUCCEED);

		assertThat(run.result()).isEqualTo("FAILURE");
		assertThat(run.error()).contains("DEPLOY_HOST");
		assertThat(run.steps("Deploy", "sh")).isEmpty();
	}

	@Test
	void codeDeployBundlesAppspecScriptsAndJarThenCreatesTheDeploymentAndWaits(@TempDir Path workspace)
			throws IOException {
		writeWorkspace(workspace);

		Run run = evaluate("main", deployParameters("codedeploy"), (step) -> {
			if (BUNDLE.matcher(step.script()).find()) {
				return runForReal(step, workspace);
			}
			return step.script().contains("create-deployment") ? ShResult.ok("d-ABCDEF123\n") : ShResult.ok("");
		});

		assertThat(run.result()).as("error: %s", run.error()).isEqualTo("SUCCESS");
		try (ZipFile bundle = new ZipFile(workspace.resolve("target/bundle.zip").toFile())) {
			assertThat(bundle.stream().filter((entry) -> !entry.isDirectory()).map(ZipEntry::getName))
				.containsExactlyInAnyOrder("appspec.yml", "scripts/deploy.sh", "scripts/codedeploy/application-start.sh",
						"nginx/nginx.conf", "app.jar");
			assertThat(bundle.getInputStream(bundle.getEntry("app.jar")).readAllBytes())
				.isEqualTo(Files.readAllBytes(workspace.resolve("target/app.jar")));
		}
		List<Step> aws = run.steps("Deploy", "sh").stream().filter((step) -> step.script().contains("aws ")).toList();
		assertThat(aws).extracting(Step::script).satisfiesExactly(
				(upload) -> assertThat(upload).contains("aws s3 cp", "target/bundle.zip", "s3://$BUCKET/$KEY"),
				(create) -> assertThat(create).contains("aws deploy create-deployment", "--application-name",
						"--deployment-group-name", "--s3-location \"bucket=$BUCKET,key=$KEY,bundleType=zip\""),
				(wait) -> assertThat(wait).contains("aws deploy wait deployment-successful",
						"--deployment-id \"$DEPLOYMENT_ID\""));
		assertThat(aws.get(1).env()).containsEntry("BUCKET", "my-bundles")
			.containsEntry("KEY", "bluegreen/jenkins-bluegreen-main-42.zip")
			.containsEntry("AWS_DEFAULT_REGION", "eu-central-1");
		assertThat(aws.get(2).env()).containsEntry("DEPLOYMENT_ID", "d-ABCDEF123");
		assertThat(aws).allSatisfy((step) -> assertThat(step.credentials()).anySatisfy(
				(binding) -> assertThat(binding).containsEntry("$class", "AmazonWebServicesCredentialsBinding")
					.containsEntry("credentialsId", "aws-codedeploy")));
	}

	@Test
	void codeDeployFailureFailsTheBuildWithTheDeploymentError() {
		Run run = evaluate("main", deployParameters("codedeploy"), (step) -> {
			if (step.script().contains("create-deployment")) {
				return ShResult.ok("d-ABCDEF123\n");
			}
			if (step.script().contains("deployment-successful")) {
				return ShResult.exit(255);
			}
			if (step.script().contains("get-deployment")) {
				return ShResult.ok("{\"status\": \"Failed\", \"error\": {\"code\": \"HEALTH_CONSTRAINTS\"}}\n");
			}
			return ShResult.ok("");
		});

		assertThat(run.result()).isEqualTo("FAILURE");
		assertThat(run.error()).contains("d-ABCDEF123", "HEALTH_CONSTRAINTS");
	}

	@ParameterizedTest
	@ValueSource(strings = { "ssh", "fleet", "codedeploy" })
	void parametersReachDeployCommandsThroughTheEnvironmentNotThroughGroovyInterpolation(String target) {
		Run run = evaluate("main", deployParameters(target), ALL_SUCCEED);

		assertThat(run.steps("Deploy", "sh")).isNotEmpty()
			.allSatisfy((step) -> assertThat(step.interpolated()).as(step.script()).isFalse());
	}

	@Test
	void noSecurityIsSwitchedOffAndNoSecretIsWrittenDown() throws IOException {
		String jenkinsfile = jenkinsfile();

		assertThat(jenkinsfile).doesNotContain("StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "chmod 777",
				"--no-verify-ssl", "BEGIN OPENSSH", "BEGIN RSA")
			.doesNotContainPattern("AKIA[0-9A-Z]{16}")
			.doesNotContainPattern("(?i)(password|secret_access_key)\\s*[=:]");
	}

	@Test
	void theJenkinsfileCompiles() throws IOException {
		assertThat(compile(jenkinsfile())).isNotNull().satisfies(
				(compiled) -> assertThat(PipelineScript.class.isAssignableFrom(compiled)).isTrue());
	}

	@ParameterizedTest
	@ValueSource(strings = { "unterminated string", "missing closing brace" })
	void aBrokenJenkinsfileFailsToCompile(String breakage) throws IOException {
		String jenkinsfile = jenkinsfile();
		String broken = switch (breakage) {
			case "unterminated string" -> jenkinsfile.replace("sh '" + BUILD_AND_TEST + "'", "sh '" + BUILD_AND_TEST);
			case "missing closing brace" -> jenkinsfile.substring(0, jenkinsfile.lastIndexOf('}'));
			default -> throw new IllegalArgumentException(breakage);
		};
		assertThat(broken).isNotEqualTo(jenkinsfile);

		assertThatExceptionOfType(CompilationFailedException.class).isThrownBy(() -> compile(broken));
	}

	private static Map<String, String> deployParameters(String target) {
		return switch (target) {
			case "ssh" -> Map.of("DEPLOY_TARGET", "ssh", "DEPLOY_HOST", "app1.example.com");
			case "codedeploy" -> Map.of("DEPLOY_TARGET", "codedeploy", "CODEDEPLOY_BUCKET", "my-bundles");
			default -> Map.of("DEPLOY_TARGET", target);
		};
	}

	private static int indexOf(List<Step> steps, Predicate<Step> predicate) {
		for (int i = 0; i < steps.size(); i++) {
			if (predicate.test(steps.get(i))) {
				return i;
			}
		}
		return -1;
	}

	private static Duration timeout(Map<String, Map<String, Object>> options) {
		Map<String, Object> timeout = options.get("timeout");
		TimeUnit unit = TimeUnit.valueOf(String.valueOf(timeout.getOrDefault("unit", "MINUTES")));
		return Duration.of(((Number) timeout.get("time")).longValue(), unit.toChronoUnit());
	}

	private static void writeWorkspace(Path workspace) throws IOException {
		for (String file : List.of("appspec.yml", "scripts/deploy.sh", "scripts/codedeploy/application-start.sh",
				"nginx/nginx.conf", "target/app.jar")) {
			Path path = workspace.resolve(file);
			Files.createDirectories(path.getParent());
			Files.writeString(path, "content of " + file + "\n");
		}
	}

	/** Runs a step's script with sh in the workspace, with the step's environment. */
	private static ShResult runForReal(Step step, Path workspace) {
		try {
			ProcessBuilder builder = new ProcessBuilder("sh", "-ec", step.script()).directory(workspace.toFile())
				.redirectErrorStream(true);
			builder.environment().putAll(step.env());
			Process process = builder.start();
			if (!process.waitFor(30, TimeUnit.SECONDS)) {
				process.destroyForcibly();
				throw new IllegalStateException("timed out: " + step.script());
			}
			String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			System.out.print(output);
			return new ShResult(process.exitValue(), output);
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	private static String jenkinsfile() throws IOException {
		return Files.readString(Path.of("Jenkinsfile"));
	}

	// ---- The stub of the declarative pipeline DSL ----

	/**
	 * Compiles a Jenkinsfile as a {@link PipelineScript} class, once per text (compiling takes a second).
	 * In Jenkins, {@code when} is read from the syntax tree and never runs as Groovy; run as a closure,
	 * {@code equals expected: ..., actual: ...} would call the closure's own {@code Object.equals}, so
	 * named-argument {@code equals} calls are compiled as {@code whenEquals}.
	 */
	static Class<?> compile(String jenkinsfile) {
		return COMPILED.computeIfAbsent(jenkinsfile, (text) -> {
			CompilerConfiguration configuration = new CompilerConfiguration();
			configuration.setScriptBaseClass(PipelineScript.class.getName());
			configuration.addCompilationCustomizers(new WhenEqualsCustomizer());
			GroovyClassLoader loader = new GroovyClassLoader(JenkinsfileTests.class.getClassLoader(), configuration);
			return loader.parseClass(text, "Jenkinsfile");
		});
	}

	/** Evaluates the Jenkinsfile as a build of the branch with the parameters; sh answers each sh step. */
	static Run evaluate(String branch, Map<String, String> parameters, Function<Step, ShResult> sh) {
		try {
			return evaluate(jenkinsfile(), branch, parameters, sh);
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	static Run evaluate(String jenkinsfile, String branch, Map<String, String> parameters,
			Function<Step, ShResult> sh) {
		PipelineScript script = (PipelineScript) InvokerHelper.createScript(compile(jenkinsfile), new Binding());
		Map<String, Object> params = new LinkedHashMap<>();
		Execution execution = new Execution(branch, params, sh);
		script.execution = execution;
		script.getBinding().setVariable("params", params);
		script.getBinding().setVariable("env", new EnvVars(execution));
		script.getBinding().setVariable("scm", "scm");
		script.run();
		Pipeline pipeline = script.pipeline;
		assertThat(pipeline).as("a pipeline { } block").isNotNull();
		for (Map<String, Object> parameter : pipeline.parameters()) {
			params.put((String) parameter.get("name"), parameter.get("defaultValue"));
		}
		parameters.forEach((name, value) -> {
			assertThat(params).as("declared parameters").containsKey(name);
			params.put(name, value);
		});
		execution.env.getLast().putAll(pipeline.environment());
		return execution.run(script, pipeline);
	}

	/** A declared stage: its options, its when and steps (run later), its post conditions. */
	record StageDefinition(String name, Map<String, Map<String, Object>> options, List<Closure<?>> when,
			List<Closure<?>> steps, Map<String, Closure<?>> post) {
	}

	/** What the pipeline { } block declared. */
	record Pipeline(Map<String, Map<String, Object>> options, List<Map<String, Object>> parameters,
			Map<String, String> environment, List<StageDefinition> stages, Map<String, Closure<?>> post) {

		List<String> stageNames() {
			return this.stages.stream().map(StageDefinition::name).toList();
		}

		Map<String, Object> parameter(String name) {
			return this.parameters.stream().filter((parameter) -> name.equals(parameter.get("name"))).findFirst()
				.orElseThrow();
		}

	}

	/** A step as it ran: its stage, name, arguments, environment and the credentials bound around it. */
	record Step(String stage, String name, Object args, boolean interpolated, Map<String, String> env,
			List<Map<String, Object>> credentials) {

		String script() {
			return "sh".equals(this.name) ? (String) this.args : "";
		}

	}

	/** The answer to an sh step: its exit code and output. */
	record ShResult(int status, String stdout) {

		static ShResult ok(String stdout) {
			return new ShResult(0, stdout);
		}

		static ShResult exit(int status) {
			return new ShResult(status, "");
		}

	}

	/** The outcome of a build: stages that ran, each stage's when, every step, result and error. */
	record Run(Pipeline pipeline, List<String> stagesRun, Map<String, String> when, List<Step> steps, String result,
			String error) {

		List<Step> steps(String stage, String name) {
			return this.steps.stream().filter((step) -> stage.equals(step.stage()) && name.equals(step.name())).toList();
		}

		List<String> sh(String stage) {
			return steps(stage, "sh").stream().map(Step::script).toList();
		}

	}

	/** What fails a build: error(), an sh step with a non-zero exit code. */
	static class PipelineFailure extends RuntimeException {

		PipelineFailure(String message) {
			super(message);
		}

	}

	/** The state of one build while its steps run. */
	static final class Execution {

		final String branch;

		final Map<String, Object> params;

		final Function<Step, ShResult> sh;

		final Deque<Map<String, String>> env = new ArrayDeque<>();

		final Deque<Map<String, Object>> credentials = new ArrayDeque<>();

		final List<Step> steps = new ArrayList<>();

		final List<String> stagesRun = new ArrayList<>();

		final Map<String, String> when = new LinkedHashMap<>();

		String stage;

		Execution(String branch, Map<String, Object> params, Function<Step, ShResult> sh) {
			this.branch = branch;
			this.params = params;
			this.sh = sh;
			Map<String, String> base = new LinkedHashMap<>();
			base.put("BRANCH_NAME", branch);
			base.put("JOB_NAME", "bluegreen/" + branch);
			base.put("BUILD_NUMBER", "42");
			base.put("BUILD_TAG", "jenkins-bluegreen-" + branch.replace('/', '-') + "-42");
			this.env.push(base);
		}

		Map<String, String> env() {
			Map<String, String> env = new LinkedHashMap<>();
			this.env.descendingIterator().forEachRemaining(env::putAll);
			return env;
		}

		Step record(String name, Object args) {
			boolean interpolated = args instanceof GString;
			Object recorded = interpolated ? args.toString() : args;
			Step step = new Step(this.stage, name, recorded, interpolated, env(), List.copyOf(this.credentials));
			this.steps.add(step);
			return step;
		}

		/** Runs the stages in order like Jenkins: a stage whose when fails is skipped, a failure skips the rest. */
		Run run(PipelineScript script, Pipeline pipeline) {
			String error = null;
			for (StageDefinition stage : pipeline.stages()) {
				if (error != null) {
					continue;
				}
				if (!stage.when().isEmpty()) {
					WhenDsl when = new WhenDsl(this, script);
					stage.when().forEach((closure) -> runWith(closure, when));
					assertThat(when.conditions).as("conditions of when in stage %s", stage.name()).isNotEmpty();
					this.when.put(stage.name(), when.describe());
					if (!when.conditions.stream().allMatch(Condition::test)) {
						continue;
					}
				}
				this.stage = stage.name();
				this.stagesRun.add(stage.name());
				try {
					stage.steps().forEach((closure) -> runWith(closure, script));
				}
				catch (PipelineFailure ex) {
					error = ex.getMessage();
				}
				error = post(script, stage.post(), error);
				this.stage = null;
			}
			error = post(script, pipeline.post(), error);
			return new Run(pipeline, List.copyOf(this.stagesRun), Map.copyOf(this.when), List.copyOf(this.steps),
					(error != null) ? "FAILURE" : "SUCCESS", error);
		}

		private String post(PipelineScript script, Map<String, Closure<?>> post, String error) {
			List<String> conditions = (error != null) ? List.of("always", "failure", "unsuccessful", "cleanup")
					: List.of("always", "success", "cleanup");
			for (String condition : conditions) {
				Closure<?> closure = post.get(condition);
				try {
					if (closure != null) {
						runWith(closure, script);
					}
				}
				catch (PipelineFailure ex) {
					error = (error != null) ? error : ex.getMessage();
				}
			}
			return error;
		}

	}

	/** Runs a copy of the closure with the delegate resolving its calls first. */
	static Object runWith(Closure<?> closure, Object delegate) {
		Closure<?> copy = closure.rehydrate(delegate, closure.getOwner(), closure.getThisObject());
		copy.setResolveStrategy(Closure.DELEGATE_FIRST);
		return copy.call();
	}

	/** The script base class: pipeline { } and the steps, which are calls on the script in Jenkins too. */
	public abstract static class PipelineScript extends Script {

		Execution execution;

		Pipeline pipeline;

		public void pipeline(Closure<?> body) {
			assertThat(this.pipeline).as("one pipeline { } block").isNull();
			this.pipeline = new Pipeline(new LinkedHashMap<>(), new ArrayList<>(), new LinkedHashMap<>(),
					new ArrayList<>(), new LinkedHashMap<>());
			runWith(body, new PipelineDsl(this.pipeline));
		}

		public Object sh(Object script) {
			return sh(Map.of("script", script));
		}

		public Object sh(Map<String, Object> args) {
			Step step = this.execution.record("sh", args.get("script"));
			ShResult result = this.execution.sh.apply(step);
			if (DefaultTypeTransformation.castToBoolean(args.get("returnStatus"))) {
				return result.status();
			}
			if (result.status() != 0) {
				throw new PipelineFailure("script returned exit code " + result.status());
			}
			return DefaultTypeTransformation.castToBoolean(args.get("returnStdout")) ? result.stdout() : null;
		}

		public void checkout(Object scm) {
			this.execution.record("checkout", scm);
		}

		public void archiveArtifacts(Map<String, Object> args) {
			this.execution.record("archiveArtifacts", args);
		}

		public void junit(Map<String, Object> args) {
			this.execution.record("junit", args);
		}

		public void echo(Object message) {
			this.execution.record("echo", message);
		}

		public void error(Object message) {
			this.execution.record("error", message);
			throw new PipelineFailure(message.toString());
		}

		public Object script(Closure<?> body) {
			return body.call();
		}

		public Object withEnv(List<?> variables, Closure<?> body) {
			Map<String, String> layer = new LinkedHashMap<>();
			for (Object variable : variables) {
				String[] pair = variable.toString().split("=", 2);
				layer.put(pair[0], pair[1]);
			}
			this.execution.env.push(layer);
			try {
				return body.call();
			}
			finally {
				this.execution.env.pop();
			}
		}

		public Map<String, Object> file(Map<String, Object> args) {
			Map<String, Object> binding = new LinkedHashMap<>(args);
			binding.put("$class", "FileBinding");
			return binding;
		}

		public Map<String, Object> sshUserPrivateKey(Map<String, Object> args) {
			Map<String, Object> binding = new LinkedHashMap<>(args);
			binding.put("$class", "SSHUserPrivateKeyBinding");
			return binding;
		}

		/** Binds the credentials (their variables get placeholder values) around the body. */
		public Object withCredentials(List<Map<String, Object>> bindings, Closure<?> body) {
			Map<String, String> layer = new LinkedHashMap<>();
			for (Map<String, Object> binding : bindings) {
				assertThat(binding).as("credentials binding").containsKeys("$class", "credentialsId");
				if ("AmazonWebServicesCredentialsBinding".equals(binding.get("$class"))) {
					layer.put("AWS_ACCESS_KEY_ID", "****");
					layer.put("AWS_SECRET_ACCESS_KEY", "****");
				}
				binding.forEach((key, value) -> {
					if (key.endsWith("Variable")) {
						layer.put(value.toString(), "****");
					}
				});
				this.execution.credentials.push(Map.copyOf(binding));
			}
			this.execution.env.push(layer);
			try {
				return body.call();
			}
			finally {
				this.execution.env.pop();
				bindings.forEach((binding) -> this.execution.credentials.pop());
			}
		}

	}

	/** env: the build's environment variables, as the steps see them. */
	static final class EnvVars extends GroovyObjectSupport {

		private final Execution execution;

		EnvVars(Execution execution) {
			this.execution = execution;
		}

		@Override
		public Object getProperty(String name) {
			return this.execution.env().get(name);
		}

		@Override
		public void setProperty(String name, Object value) {
			this.execution.env.peek().put(name, String.valueOf(value));
		}

	}

	/** pipeline { agent, options, parameters, environment, stages, post }. */
	public static final class PipelineDsl {

		private final Pipeline pipeline;

		PipelineDsl(Pipeline pipeline) {
			this.pipeline = pipeline;
		}

		public String getAny() {
			return "any";
		}

		public void agent(Object agent) {
		}

		public void options(Closure<?> body) {
			runWith(body, new OptionsDsl(this.pipeline.options()));
		}

		public void parameters(Closure<?> body) {
			runWith(body, new ParametersDsl(this.pipeline.parameters()));
		}

		public void environment(Closure<?> body) {
			runWith(body, new EnvironmentDsl(this.pipeline.environment()));
		}

		public void stages(Closure<?> body) {
			runWith(body, new StagesDsl(this.pipeline.stages()));
		}

		public void post(Closure<?> body) {
			runWith(body, new PostDsl(this.pipeline.post()));
		}

	}

	/** options { disableConcurrentBuilds(); timeout(...); ... }: each option by name with its arguments. */
	public static final class OptionsDsl {

		private final Map<String, Map<String, Object>> options;

		OptionsDsl(Map<String, Map<String, Object>> options) {
			this.options = options;
		}

		public void disableConcurrentBuilds() {
			this.options.put("disableConcurrentBuilds", Map.of());
		}

		public void timeout(Map<String, Object> args) {
			this.options.put("timeout", args);
		}

		public void timestamps() {
			this.options.put("timestamps", Map.of());
		}

		public void skipDefaultCheckout() {
			this.options.put("skipDefaultCheckout", Map.of());
		}

		public void buildDiscarder(Object strategy) {
			this.options.put("buildDiscarder", Map.of("strategy", strategy));
		}

		public Map<String, Object> logRotator(Map<String, Object> args) {
			return args;
		}

	}

	/** parameters { choice(...); string(...) }: the first choice is a choice parameter's default. */
	public static final class ParametersDsl {

		private final List<Map<String, Object>> parameters;

		ParametersDsl(List<Map<String, Object>> parameters) {
			this.parameters = parameters;
		}

		public void choice(Map<String, Object> args) {
			Map<String, Object> parameter = parameter("choice", args);
			parameter.put("defaultValue", ((List<?>) args.get("choices")).get(0));
		}

		public void string(Map<String, Object> args) {
			parameter("string", args);
		}

		public void booleanParam(Map<String, Object> args) {
			parameter("booleanParam", args);
		}

		private Map<String, Object> parameter(String type, Map<String, Object> args) {
			Map<String, Object> parameter = new LinkedHashMap<>(args);
			parameter.put("type", type);
			this.parameters.add(parameter);
			return parameter;
		}

	}

	/** environment { NAME = 'value' }. */
	static final class EnvironmentDsl extends GroovyObjectSupport {

		private final Map<String, String> environment;

		EnvironmentDsl(Map<String, String> environment) {
			this.environment = environment;
		}

		@Override
		public void setProperty(String name, Object value) {
			this.environment.put(name, String.valueOf(value));
		}

	}

	/** stages { stage('name') { ... } }. */
	public static final class StagesDsl {

		private final List<StageDefinition> stages;

		StagesDsl(List<StageDefinition> stages) {
			this.stages = stages;
		}

		public void stage(String name, Closure<?> body) {
			StageDefinition stage = new StageDefinition(name, new LinkedHashMap<>(), new ArrayList<>(),
					new ArrayList<>(), new LinkedHashMap<>());
			runWith(body, new StageDsl(stage));
			this.stages.add(stage);
		}

	}

	/** stage('name') { options, when, steps, post }: when and steps are kept to run in the build. */
	public static final class StageDsl {

		private final StageDefinition stage;

		StageDsl(StageDefinition stage) {
			this.stage = stage;
		}

		public void options(Closure<?> body) {
			runWith(body, new OptionsDsl(this.stage.options()));
		}

		public void when(Closure<?> body) {
			this.stage.when().add(body);
		}

		public void steps(Closure<?> body) {
			this.stage.steps().add(body);
		}

		public void post(Closure<?> body) {
			runWith(body, new PostDsl(this.stage.post()));
		}

	}

	/** post { always { } success { } failure { } unsuccessful { } cleanup { } }. */
	public static final class PostDsl {

		private final Map<String, Closure<?>> post;

		PostDsl(Map<String, Closure<?>> post) {
			this.post = post;
		}

		public void always(Closure<?> body) {
			this.post.put("always", body);
		}

		public void success(Closure<?> body) {
			this.post.put("success", body);
		}

		public void failure(Closure<?> body) {
			this.post.put("failure", body);
		}

		public void unsuccessful(Closure<?> body) {
			this.post.put("unsuccessful", body);
		}

		public void cleanup(Closure<?> body) {
			this.post.put("cleanup", body);
		}

	}

	/** A when condition: what it says, and whether it holds for this build. */
	record Condition(String description, BooleanSupplier holds) {

		boolean test() {
			return this.holds.getAsBoolean();
		}

	}

	/** when { branch, equals, not, allOf, anyOf, expression }, decided for the build being run. */
	public static final class WhenDsl {

		final List<Condition> conditions = new ArrayList<>();

		private final Execution execution;

		private final PipelineScript script;

		WhenDsl(Execution execution, PipelineScript script) {
			this.execution = execution;
			this.script = script;
		}

		public void branch(String name) {
			add("branch " + name, () -> name.equals(this.execution.branch));
		}

		public void whenEquals(Map<String, Object> args) {
			Object expected = args.get("expected");
			Object actual = args.get("actual");
			add("equals(expected " + expected + ", actual " + actual + ")",
					() -> String.valueOf(expected).equals(String.valueOf(actual)));
		}

		public void expression(Closure<?> body) {
			add("expression", () -> DefaultTypeTransformation.castToBoolean(runWith(body, this.script)));
		}

		public void not(Closure<?> body) {
			List<Condition> nested = nested("not", body);
			assertThat(nested).as("not { } takes one condition").hasSize(1);
			add("not " + nested.get(0).description(), () -> !nested.get(0).test());
		}

		public void allOf(Closure<?> body) {
			List<Condition> nested = nested("allOf", body);
			add("allOf(" + describe(nested) + ")", () -> nested.stream().allMatch(Condition::test));
		}

		public void anyOf(Closure<?> body) {
			List<Condition> nested = nested("anyOf", body);
			add("anyOf(" + describe(nested) + ")", () -> nested.stream().anyMatch(Condition::test));
		}

		String describe() {
			return describe(this.conditions);
		}

		private List<Condition> nested(String name, Closure<?> body) {
			WhenDsl nested = new WhenDsl(this.execution, this.script);
			runWith(body, nested);
			assertThat(nested.conditions).as("conditions of %s", name).isNotEmpty();
			return nested.conditions;
		}

		private void add(String description, BooleanSupplier holds) {
			this.conditions.add(new Condition(description, holds));
		}

		private static String describe(List<Condition> conditions) {
			return conditions.stream().map(Condition::description).collect(Collectors.joining(", "));
		}

	}

	/** Compiles {@code equals name: value, ...} (never a real equals call) as {@code whenEquals(...)}. */
	static final class WhenEqualsCustomizer extends CompilationCustomizer {

		WhenEqualsCustomizer() {
			super(CompilePhase.SEMANTIC_ANALYSIS);
		}

		@Override
		public void call(SourceUnit source, GeneratorContext context, ClassNode classNode) {
			new ClassCodeVisitorSupport() {

				@Override
				protected SourceUnit getSourceUnit() {
					return source;
				}

				@Override
				public void visitMethodCallExpression(MethodCallExpression call) {
					if (call.isImplicitThis() && "equals".equals(call.getMethodAsString())
							&& call.getArguments() instanceof TupleExpression arguments && arguments.getExpressions()
								.stream().anyMatch(NamedArgumentListExpression.class::isInstance)) {
						call.setMethod(new ConstantExpression("whenEquals"));
					}
					super.visitMethodCallExpression(call);
				}

			}.visitClass(classNode);
		}

	}

}
