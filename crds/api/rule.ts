/**
 * A cross-field rule, written once. Each entry carries the CEL the API server runs at admission (generated
 * into the CRD's `x-kubernetes-validations` of the object the rule belongs to) and the same rule in TypeScript,
 * which `vireo validate` and the operator run and which names the offending element. `rules-cel.test.ts`
 * evaluates every entry's CEL with a CEL interpreter against its check on the validation table, so the two
 * halves of one entry cannot say different things.
 */
import type { z } from "zod";
import { cel, exactlyOne, type CelRule } from "./k8s-meta.ts";

/** A path below the object a rule is attached to. */
export type RulePath = (string | number)[];

/** Reports one violation: where (below the rule's object) and a message naming the element. */
export type Report = (path: RulePath, message: string) => void;

/** One cross-field rule on objects of type `T`. */
export interface Rule<T> {
  /** Stable name, for tests and docs. */
  id: string;
  /**
   * The rule as CEL on `self` (the object the rule is attached to). Usually one; several when the API
   * server's cost budget wants the rule split. Empty only with {@link Rule.server} saying what the API server
   * uses instead.
   */
  cel: CelRule[];
  /** When `cel` is empty: how the API server enforces the rule instead (e.g. a list-map key). */
  server?: string;
  /** The rule in TypeScript: calls `report` once per violation. */
  check(self: T, report: Report): void;
}

/** The CEL rules of a set of rules, in order. */
export function celRulesOf(rules: readonly Pick<Rule<never>, "cel">[]): CelRule[] {
  return rules.flatMap((r) => r.cel);
}

/** The CRD markers (`x-kubernetes-validations`) of a set of rules. */
export function celOf(rules: readonly Pick<Rule<never>, "cel">[]): Record<string, unknown> {
  return cel(...celRulesOf(rules));
}

/** Runs `rules` on `self`, reporting zod issues at `at` + the rule's path. */
export function runRules<T>(
  rules: readonly Rule<T>[],
  self: T,
  ctx: z.RefinementCtx,
  at: RulePath = [],
): void {
  for (const rule of rules)
    rule.check(self, (path, message) => ctx.addIssue({ code: "custom", path: [...at, ...path], message }));
}

/** CEL and check for "exactly one of `fields` is set" (a oneOf the structural schema cannot say). */
export function exactlyOneRule<T extends object>(
  id: string,
  fields: readonly string[],
  what: string,
  celMessage: string,
): Rule<T> {
  return {
    id,
    cel: [{ rule: exactlyOne([...fields]), message: celMessage }],
    check(self, report) {
      const set = fields.filter((f) => (self as Record<string, unknown>)[f] !== undefined);
      if (set.length !== 1)
        report(
          [],
          `${what} must set exactly one of ${fields.join(", ")}${set.length ? ` (found ${set.join(", ")})` : ""}`,
        );
    },
  };
}
