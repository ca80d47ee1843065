/* Last script of the page: every page has registered itself by now. */
"use strict";
Console.start();
