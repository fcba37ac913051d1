// The params of the classify op, checked once for the manager (upload, planning) and the recognition worker (assign).
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { FleetError } from "../errors";
import { ClassifyParams } from "../wire";

const check = TypeCompiler.Compile(ClassifyParams);

/**
 * `params` as ClassifyParams (`{}` or `{minScore: 0..1, maxObjects: 1..100}`, nothing else).
 * @throws FleetError BAD_PARAMS (422) naming every bad or unknown param.
 */
export function checkClassifyParams(params: unknown): ClassifyParams {
  if (check.Check(params)) return params;
  const problems = [...check.Errors(params)].map((error) => `${error.path || "/"}: ${error.message}`);
  throw new FleetError("BAD_PARAMS", `classify: ${problems.join("; ")} (params: minScore 0..1, maxObjects 1..100, nothing else)`, 422);
}
