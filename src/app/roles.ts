/** The roles `src/main.ts` accepts. `dev` is `all` on embedded defaults. */
export const ROLES = ["api", "worker", "bridge", "processor", "migrate", "all", "dev"] as const;
export type Role = (typeof ROLES)[number];

export function parseRole(arg: string | undefined): Role {
	const role = (arg ?? "all") as Role;
	if (!ROLES.includes(role)) throw new Error(`unknown role "${arg}": expected one of ${ROLES.join(", ")}`);
	return role;
}
