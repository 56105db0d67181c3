import { requestContext } from "../../src/http/request-context.ts";
import { createLogger } from "../../src/infra/log.ts";
const p = requestContext({ log: createLogger("info"), bodyLimitBytes: 1 });
console.log(Object.keys((p as any).event), (p as any).event.afterResponse?.length);
